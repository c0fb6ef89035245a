"""Clinicians in Telegram: acknowledge alerts, resolve them (confirm an infection, or not), /alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update

from bot.app import BotContext
from bot.i18n import N_, Gettext, gettext_for, local_datetime
from bot.services import escalation as escalations
from bot.services import infection_form, patient_messages, staff_prompts
from bot.services.alerts import DISMISSAL_LABELS, LEVEL_TITLES, resolve_buttons
from bot.services.errors import DomainError
from bot.services.escalation import AckResult
from bot.services.onboarding import staff_for_user
from handlers.common import record_id, stranger_gettext
from handlers.render import button, keyboard
from models import DismissalReason, Escalation, EscalationStatus, Site, Staff

STAFF_ONLY = N_("This is for study staff only.")
ALERTS_PER_PAGE = 10


def staff_gettext(staff: Staff) -> Gettext:
    return gettext_for(staff.language)


async def current_staff(update: Update, session: AsyncSession) -> Staff | None:
    user = update.effective_user
    return None if user is None else await staff_for_user(session, user_id=user.id)


async def on_escalation_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    _kind, raw_id, action = [*query.data.split("|"), "", ""][:3]
    escalation_id = record_id(raw_id)
    deps = context.deps
    async with deps.session() as session:
        staff = await current_staff(update, session)
        if staff is None:
            await query.answer(stranger_gettext(update)(STAFF_ONLY), show_alert=True)
            return
        if escalation_id is None:
            await query.answer()
            return
        _ = staff_gettext(staff)
        if action == "ack":
            result, escalation = await escalations.acknowledge(
                session, staff=staff, escalation_id=escalation_id, now=deps.clock.now()
            )
            if result is AckResult.DENIED or escalation is None:
                await query.answer(
                    _("You cannot act on this alert (another site, or your role does not acknowledge alerts)."),
                    show_alert=True,
                )
                return
            await query.answer()
            note = (
                _("✅ You acknowledged this alert.")
                if result is AckResult.ACKNOWLEDGED
                else _("This alert was already acknowledged.")
            )
            markup = InlineKeyboardMarkup.de_json(resolve_buttons(escalation.id, staff.language), None)
            if escalation.status in escalations.UNRESOLVED:
                await query.edit_message_text(f"{query.message.text}\n\n{note}", reply_markup=markup)
            else:
                await query.edit_message_text(f"{query.message.text}\n\n" + _("This alert has already been resolved."))
        elif action == "confirm":
            first = await infection_form.begin(session, staff=staff, escalation_id=escalation_id)
            if first is None:
                await query.answer(
                    _("This alert has already been resolved, or it is not yours to resolve."), show_alert=True
                )
                return
            await query.answer()
            await query.edit_message_reply_markup(reply_markup=None)
            await ask_field(query.message, staff, first)
        elif action == "dismiss":
            escalation = await session.get(Escalation, escalation_id)
            if (
                escalation is None
                or not escalations.may_acknowledge(staff, escalation)
                or escalation.status not in escalations.UNRESOLVED
            ):
                await query.answer(
                    _("This alert has already been resolved, or it is not yours to resolve."), show_alert=True
                )
                return
            staff_prompts.ask_dismissal_reason(staff, escalation_id=escalation.id, now=deps.clock.now())
            await session.commit()
            await query.answer()
            rows = [
                [button(_(label), f"esc|{escalation.id}|no:{code.value}")] for code, label in DISMISSAL_LABELS.items()
            ]
            await query.message.reply_text(
                _("Why is it not an infection? Tap a reason, or type it."), reply_markup=keyboard(rows)
            )
        elif action.startswith("no:") and action.removeprefix("no:") in DismissalReason.__members__.values():
            code = DismissalReason(action.removeprefix("no:"))
            if code is DismissalReason.OTHER:
                await query.answer()
                await query.edit_message_text(_("Please type the reason."))
                return
            dismissed = await escalations.dismiss(
                session, staff=staff, escalation_id=escalation_id, code=code, now=deps.clock.now()
            )
            if dismissed is None:
                await query.answer(
                    _("This alert has already been resolved, or it is not yours to resolve."), show_alert=True
                )
                return
            await query.answer()
            await query.edit_message_text(
                _("Recorded: not an infection ({reason}).").format(reason=_(DISMISSAL_LABELS[code]))
            )
        else:
            await query.answer()


async def ask_field(message: Message, staff: Staff, field: str) -> None:
    _ = staff_gettext(staff)
    if field == infection_form.SUMMARY:
        draft = staff.draft or {}
        lines = [_("Please check the infection record:")]
        for name in infection_form.fields_for(draft):
            lines.append(f"• {_(infection_form.TITLES[name])}: {field_value(name, draft.get(name), _)}")
        for msgid, values in infection_form.plausibility_warnings(draft):
            lines.append("\n" + _(msgid).format(**values))
        edits = [
            button("✏ " + _(infection_form.TITLES[name]), f"inf|edit|{name}")
            for name in infection_form.fields_for(draft)
        ]
        rows = [edits[start : start + 2] for start in range(0, len(edits), 2)]
        rows.append([button("💾 " + _("Save"), "inf|save|"), button("✖ " + _("Cancel"), "inf|cancel|")])
        await message.get_bot().send_message(message.chat_id, "\n".join(lines), reply_markup=keyboard(rows))
        return
    await message.get_bot().send_message(
        message.chat_id, _(infection_form.PROMPTS[field]), reply_markup=field_keyboard(staff, field)
    )


def field_keyboard(staff: Staff, field: str) -> InlineKeyboardMarkup:
    """The field's buttons; the treatments tapped so far carry a ✓ (multi-select until Done)."""
    _ = staff_gettext(staff)
    picked = (staff.draft or {}).get(infection_form.PICKED, []) if field == "treatments" else []
    choices = [
        (code, ("✓ " if code in picked else "") + _(label)) for code, label in infection_form.CHOICES[field].items()
    ]
    rows = [
        [button(label, f"inf|{field}|{code}") for code, label in choices[start : start + 3]]
        for start in range(0, len(choices), 3)
    ]
    return keyboard(rows)


def field_value(name: str, value: object, _: Gettext) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None:
        return "-"
    choices = infection_form.CHOICES[name]
    if isinstance(value, list):
        return ", ".join(_(choices[code]) if code in choices else code for code in value)
    return _(choices[str(value)]) if name not in infection_form.TYPED and str(value) in choices else str(value)


async def on_infection_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    _kind, field, value = [*query.data.split("|"), "", ""][:3]
    deps = context.deps
    async with deps.session() as session:
        staff = await current_staff(update, session)
        if staff is None:
            await query.answer(stranger_gettext(update)(STAFF_ONLY), show_alert=True)
            return
        _ = staff_gettext(staff)
        try:
            if field == "cancel":
                await infection_form.cancel(session, staff=staff)
                await query.answer()
                await query.edit_message_text(_("The infection record was not saved."))
                return
            if field == "save":
                infection, patient = await infection_form.save(session, staff=staff, now=deps.clock.now())
                await query.answer()
                saved = _("💾 Saved: the infection of {study_id} (grade {grade}) is recorded.").format(
                    study_id=patient.study_id, grade=infection.ctcae_grade
                )
                await query.edit_message_text(f"{query.message.text}\n\n{saved}")
                return
            if field == "edit":
                following = await infection_form.reopen(session, staff=staff, field=value)
            else:
                following = await infection_form.answer(
                    session, staff=staff, field=field, raw=value, now=deps.clock.now()
                )
        except DomainError as refused:
            await query.answer(infection_form.refusal_text(refused, _), show_alert=True)
            return
        await query.answer()
        if following == field:  # a treatment tapped on or off: the same question, its ✓ updated
            await query.edit_message_reply_markup(reply_markup=field_keyboard(staff, field))
            return
        await query.edit_message_reply_markup(reply_markup=None)
        await ask_field(query.message, staff, following)


async def on_staff_text(update: Update, context: BotContext, staff: Staff, session: AsyncSession) -> None:
    """Typed text from staff: a dismissal reason, or a typed field of the infection form."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    _ = staff_gettext(staff)
    deps = context.deps
    escalation_id = staff_prompts.awaited_dismissal(staff)
    if escalation_id is not None and await staff_prompts.lapse_if_stale(session, staff=staff, now=deps.clock.now()):
        await message.reply_text(
            _(
                "This was not recorded as a reason: “Not an infection” was tapped more than 30 minutes ago. "
                "Tap it again on the alert to give the reason."
            )
        )
        return
    if escalation_id is not None:
        dismissed = await escalations.dismiss(
            session,
            staff=staff,
            escalation_id=escalation_id,
            code=DismissalReason.OTHER,
            reason=message.text,
            now=deps.clock.now(),
        )
        await message.reply_text(
            _("Recorded: not an infection.") if dismissed else _("Please type the reason in words.")
        )
        return
    if staff.awaiting == "infection":
        field = infection_form.next_field(staff.draft or {})
        if field not in infection_form.TYPED:
            await message.reply_text(_("Please tap one of the buttons."))
            return
        try:
            following = await infection_form.answer(
                session, staff=staff, field=field, raw=message.text, now=deps.clock.now()
            )
        except DomainError as refused:
            await message.reply_text(infection_form.refusal_text(refused, _))
            return
        await ask_field(message, staff, following)
        return
    await staff_help(message, staff)


async def alerts_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    async with context.deps.session() as session:
        staff = await current_staff(update, session)
        if staff is None:
            await message.reply_text(stranger_gettext(update)(STAFF_ONLY))
            return
        recent = await recent_messages_text(session, staff, context.deps.clock.now())
        text, markup = await alerts_page(session, staff, page=0)
    await message.reply_text(text, reply_markup=markup)
    await _reply_if(message, recent)


async def on_alerts_page(update: Update, context: BotContext) -> None:
    """◀ / ▶ under /alerts: show another page in the same message."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    page = query.data.removeprefix("alerts|")
    async with context.deps.session() as session:
        staff = await current_staff(update, session)
        if staff is None:
            await query.answer(stranger_gettext(update)(STAFF_ONLY), show_alert=True)
            return
        if not page.isdecimal() or len(page) > 4:
            await query.answer()
            return
        text, markup = await alerts_page(session, staff, page=int(page))
    await query.answer()
    if text != query.message.text:  # a double tap: Telegram refuses an edit that changes nothing
        await query.edit_message_text(text, reply_markup=markup)


async def alerts_page(session: AsyncSession, staff: Staff, *, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the open alerts this staff member may see, ALERTS_PER_PAGE at a time (well under Telegram's
    4,096 characters), with Acknowledge buttons and ◀ / ▶ between pages."""
    _ = staff_gettext(staff)
    rows = await escalations.open_for(session, staff=staff)
    if not rows:
        return _("No open alerts."), None
    pages = -(-len(rows) // ALERTS_PER_PAGE)
    page = min(page, pages - 1)
    lines = [
        _("Open alerts:")
        if pages == 1
        else _("Open alerts, page {page} of {pages}:").format(page=page + 1, pages=pages)
    ]
    buttons = []
    for escalation, patient in rows[page * ALERTS_PER_PAGE : (page + 1) * ALERTS_PER_PAGE]:
        site = await session.get_one(Site, escalation.site_id)
        state = _("acknowledged") if escalation.status is EscalationStatus.ACKNOWLEDGED else _("waiting")
        raised = local_datetime(escalation.raised_at, site.timezone, staff.language)
        lines.append(f"• {_(LEVEL_TITLES[escalation.level])} {patient.study_id} ({site.code}), {raised}: {state}")
        if escalations.may_acknowledge(staff, escalation) and escalation.status is EscalationStatus.OPEN:
            buttons.append([button("👀 " + _("Acknowledge") + f" {patient.study_id}", f"esc|{escalation.id}|ack")])
    turns = [button("◀ " + _("Previous page"), f"alerts|{page - 1}")] if page > 0 else []
    if page < pages - 1:
        turns.append(button(_("Next page") + " ▶", f"alerts|{page + 1}"))
    if turns:
        buttons.append(turns)
    return "\n".join(lines), keyboard(buttons) if buttons else None


async def recent_messages_text(session: AsyncSession, staff: Staff, now: datetime) -> str | None:
    """/alerts' second message: what patients of the staff member's site (admins: all) wrote lately, newest
    first (bounded, see bot.services.patient_messages.recent_for). None when nobody wrote."""
    recent = await patient_messages.recent_for(session, staff=staff, now=now)
    if not recent:
        return None
    _ = staff_gettext(staff)
    lines = [_("💬 Recent messages from patients:")]
    for sent, patient, site in recent:
        received = local_datetime(sent.received_at, site.timezone, staff.language)
        flag = "🚨 " if sent.red_flags else ""
        described = patient_messages.describe(sent, _)
        lines.append(f"• {flag}{patient.study_id} ({site.code}), {received}: {described}")
    return "\n".join(lines)


async def _reply_if(message: Message, text: str | None) -> None:
    if text is not None:
        await message.reply_text(text)


async def staff_help(message: Message, staff: Staff) -> None:
    _ = staff_gettext(staff)
    await message.reply_text(
        "\n".join(
            [
                _(
                    "Alerts about your site's patients arrive here. Tap Acknowledge, then Confirm infection or Not an infection."
                ),
                _("/alerts – open alerts of your site"),
                _("/status – follow-up at a glance (coordinators, admins)"),
                _("/export – the datasets as a zip of CSV files (coordinators, admins)"),
                _(
                    "/web – a one-time link to sign in to the study console, the web pages of the study: "
                    "the follow-up board, alerts, patient pages, enrolment, exports and the report"
                ),
            ]
        )
    )
