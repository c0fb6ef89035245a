"""/overdue for coordinators and admins: who needs a call at their site (admins: every site), ten a page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update

from bot.app import BotContext
from bot.services.overdue import overdue_patients
from bot.services.status import may_see_study_data, sites_of
from handlers.common import stranger_gettext
from handlers.render import button, keyboard
from handlers.staff.alerts import STAFF_ONLY, current_staff, staff_gettext
from handlers.staff.coordination import COORDINATORS_ONLY, coordinator_or_refuse
from models import Site, Staff

PER_PAGE = 10


async def overdue_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    async with context.deps.session() as session:
        staff = await coordinator_or_refuse(update, message, session)
        if staff is None:
            return
        text, markup = await overdue_page(session, staff, page=0, now=context.deps.clock.now())
    await message.reply_text(text, reply_markup=markup)


async def on_overdue_page(update: Update, context: BotContext) -> None:
    """◀ / ▶ under /overdue: another page in the same message."""
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    page = query.data.removeprefix("overdue|")
    async with context.deps.session() as session:
        staff = await current_staff(update, session)
        if staff is None or not may_see_study_data(staff):
            gettext = stranger_gettext(update) if staff is None else staff_gettext(staff)
            await query.answer(gettext(STAFF_ONLY if staff is None else COORDINATORS_ONLY), show_alert=True)
            return
        if not page.isdecimal() or len(page) > 4:
            await query.answer()
            return
        text, markup = await overdue_page(session, staff, page=int(page), now=context.deps.clock.now())
    await query.answer()
    if text != query.message.text:
        await query.edit_message_text(text, reply_markup=markup)


async def overdue_page(
    session: AsyncSession, staff: Staff, *, page: int, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = staff_gettext(staff)
    limited = sites_of(staff)
    site_code = None if limited is None else (await session.get_one(Site, limited)).code
    rows = await overdue_patients(session, site_code=site_code, now=now)
    if not rows:
        return _("Nobody needs a call: no missed check-ins, everyone can be reached."), None
    shown = rows[page * PER_PAGE : (page + 1) * PER_PAGE]
    lines = [_("📞 Who needs a call ({count}):").format(count=len(rows))]
    for row in shown:
        facts = [
            _("last check-in {date}").format(date=row.last_checkin.isoformat()) if row.last_checkin else
            _("no check-in yet"),
            _("{count} missed in a row").format(count=row.missed_in_a_row),
            _("next due {date}").format(date=row.next_due.isoformat()) if row.next_due else _("nothing due"),
        ]  # fmt: skip
        if row.never_linked:
            facts.append(_("never linked Telegram"))
        elif row.unreachable:
            facts.append(_("cannot be reached in Telegram"))
        if row.open_alerts:
            facts.append(_("open alerts: {count}").format(count=row.open_alerts))
        lines.append(f"• {row.study_id} ({row.site}): " + "; ".join(facts))
    turns = [button("◀ " + _("Previous page"), f"overdue|{page - 1}")] if page > 0 else []
    if (page + 1) * PER_PAGE < len(rows):
        turns.append(button(_("Next page") + " ▶", f"overdue|{page + 1}"))
    return "\n".join(lines), keyboard([turns]) if turns else None
