"""Clinicians in Telegram: acknowledge alerts, resolve them (confirm an infection, or not), /alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot.callbacks import Alert, AlertsPage, Button, InfectionForm, Rows
from bot.i18n import Gettext, local_datetime
from bot.services import escalation as escalations
from bot.services import infection_form, patient_messages
from bot.services.alerts import DISMISSAL_LABELS, LEVEL_TITLES, dismissal_buttons, resolve_buttons
from bot.services.errors import DomainError
from bot.services.escalation import AckResult
from bot.services.sites import site_of
from bot.services.typed_text import DismissalReasonText, InfectionFieldText, awaited_from_staff
from handlers.context import BotContext
from handlers.render import keyboard
from handlers.staff.access import staff_button, staff_command, staff_gettext
from models import DismissalReason, EscalationStatus, Staff

ALERTS_PER_PAGE = 10


@staff_button(Alert)
async def on_escalation_button(
    query: CallbackQuery, message: Message, tap: Alert, staff: Staff, context: BotContext
) -> None:
    deps = context.deps
    _ = context.gettext
    not_yours = _("This alert has already been resolved, or it is not yours to resolve.")
    async with deps.session() as session:
        if tap.action == "ack":
            result, escalation = await escalations.acknowledge(
                session, staff=staff, escalation_id=tap.escalation_id, now=deps.clock.now()
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
            if escalation.status in escalations.UNRESOLVED:
                markup = keyboard(resolve_buttons(escalation.id, staff.language))
                await query.edit_message_text(f"{message.text}\n\n{note}", reply_markup=markup)
            else:
                await query.edit_message_text(f"{message.text}\n\n" + _("This alert has already been resolved."))
        elif tap.action == "confirm":
            first = await infection_form.begin(session, staff=staff, escalation_id=tap.escalation_id)
            if first is None:
                await query.answer(not_yours, show_alert=True)
                return
            await query.answer()
            await query.edit_message_reply_markup(reply_markup=None)
            await ask_field(message, staff, first)
        elif tap.action == "dismiss":
            if not await escalations.start_dismissal(
                session, staff=staff, escalation_id=tap.escalation_id, now=deps.clock.now()
            ):
                await query.answer(not_yours, show_alert=True)
                return
            await query.answer()
            await message.reply_text(
                _("Why is it not an infection? Tap a reason, or type it."),
                reply_markup=keyboard(dismissal_buttons(tap.escalation_id, _)),
            )
        elif tap.reason is DismissalReason.OTHER:
            await query.answer()
            await query.edit_message_text(_("Please type the reason."))
        elif tap.reason is not None:
            dismissed = await escalations.dismiss(
                session, staff=staff, escalation_id=tap.escalation_id, code=tap.reason, now=deps.clock.now()
            )
            if dismissed is None:
                await query.answer(not_yours, show_alert=True)
                return
            await query.answer()
            await query.edit_message_text(
                _("Recorded: not an infection ({reason}).").format(reason=_(DISMISSAL_LABELS[tap.reason]))
            )


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
            Button("✏ " + _(infection_form.TITLES[name]), InfectionForm("edit", name))
            for name in infection_form.fields_for(draft)
        ]
        rows = [edits[start : start + 2] for start in range(0, len(edits), 2)]
        rows.append(
            [Button("💾 " + _("Save"), InfectionForm("save")), Button("✖ " + _("Cancel"), InfectionForm("cancel"))]
        )
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
        [Button(label, InfectionForm(field, code)) for code, label in choices[start : start + 3]]
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


@staff_button(InfectionForm)
async def on_infection_button(
    query: CallbackQuery, message: Message, tap: InfectionForm, staff: Staff, context: BotContext
) -> None:
    field, value = tap.field, tap.value
    deps = context.deps
    _ = context.gettext
    async with deps.session() as session:
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
                await query.edit_message_text(f"{message.text}\n\n{saved}")
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
        await ask_field(message, staff, following)


async def on_staff_text(update: Update, context: BotContext, staff: Staff, session: AsyncSession) -> None:
    """Typed text from staff: a dismissal reason, or a typed field of the infection form."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    _ = staff_gettext(staff)
    deps = context.deps
    awaited = await awaited_from_staff(session, staff=staff, now=deps.clock.now())
    if isinstance(awaited, DismissalReasonText) and awaited.lapsed:
        await message.reply_text(
            _(
                "This was not recorded as a reason: “Not an infection” was tapped more than 30 minutes ago. "
                "Tap it again on the alert to give the reason."
            )
        )
        return
    if isinstance(awaited, DismissalReasonText):
        dismissed = await escalations.dismiss(
            session,
            staff=staff,
            escalation_id=awaited.escalation_id,
            code=DismissalReason.OTHER,
            reason=message.text,
            now=deps.clock.now(),
        )
        await message.reply_text(
            _("Recorded: not an infection.") if dismissed else _("Please type the reason in words.")
        )
        return
    if isinstance(awaited, InfectionFieldText):
        if not awaited.typed:
            await message.reply_text(_("Please tap one of the buttons."))
            return
        try:
            following = await infection_form.answer(
                session, staff=staff, field=awaited.field, raw=message.text, now=deps.clock.now()
            )
        except DomainError as refused:
            await message.reply_text(infection_form.refusal_text(refused, _))
            return
        await ask_field(message, staff, following)
        return
    await staff_help(message, staff)


@staff_command
async def alerts_command(message: Message, staff: Staff, context: BotContext) -> None:
    async with context.deps.session() as session:
        recent = await recent_messages_text(session, staff, context.deps.clock.now())
        text, markup = await alerts_page(session, staff, page=0)
    await message.reply_text(text, reply_markup=markup)
    await _reply_if(message, recent)


@staff_button(AlertsPage)
async def on_alerts_page(
    query: CallbackQuery, message: Message, tap: AlertsPage, staff: Staff, context: BotContext
) -> None:
    """◀ / ▶ under /alerts: show another page in the same message."""
    async with context.deps.session() as session:
        text, markup = await alerts_page(session, staff, page=tap.page)
    await query.answer()
    if text != message.text:  # a double tap: Telegram refuses an edit that changes nothing
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
    buttons: Rows = []
    for escalation, patient in rows[page * ALERTS_PER_PAGE : (page + 1) * ALERTS_PER_PAGE]:
        site = await site_of(session, site_id=escalation.site_id)
        state = _("acknowledged") if escalation.status is EscalationStatus.ACKNOWLEDGED else _("waiting")
        raised = local_datetime(escalation.raised_at, site.timezone, staff.language)
        lines.append(f"• {_(LEVEL_TITLES[escalation.level])} {patient.study_id} ({site.code}), {raised}: {state}")
        if escalations.may_acknowledge(staff, escalation) and escalation.status is EscalationStatus.OPEN:
            buttons.append([Button("👀 " + _("Acknowledge") + f" {patient.study_id}", Alert(escalation.id, "ack"))])
    turns = [Button("◀ " + _("Previous page"), AlertsPage(page - 1))] if page > 0 else []
    if page < pages - 1:
        turns.append(Button(_("Next page") + " ▶", AlertsPage(page + 1)))
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
