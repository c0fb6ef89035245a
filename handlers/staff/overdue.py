"""/overdue for coordinators and admins: who needs a call at their site (admins: every site), ten a page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import Button, OverduePage
from bot.services.overdue import overdue_patients
from bot.services.sites import site_of
from bot.services.status import sites_of
from handlers.context import BotContext
from handlers.render import keyboard
from handlers.staff.access import coordinator_command, staff_button, staff_gettext
from models import Staff

PER_PAGE = 10


@coordinator_command
async def overdue_command(message: Message, staff: Staff, context: BotContext) -> None:
    async with context.deps.session() as session:
        text, markup = await overdue_page(session, staff, page=0, now=context.deps.clock.now())
    await message.reply_text(text, reply_markup=markup)


@staff_button(OverduePage, coordinators_only=True)
async def on_overdue_page(
    query: CallbackQuery, message: Message, tap: OverduePage, staff: Staff, context: BotContext
) -> None:
    """◀ / ▶ under /overdue: another page in the same message."""
    async with context.deps.session() as session:
        text, markup = await overdue_page(session, staff, page=tap.page, now=context.deps.clock.now())
    await query.answer()
    if text != message.text:
        await query.edit_message_text(text, reply_markup=markup)


async def overdue_page(
    session: AsyncSession, staff: Staff, *, page: int, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = staff_gettext(staff)
    limited = sites_of(staff)
    site_code = None if limited is None else (await site_of(session, site_id=limited)).code
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
    turns = [Button("◀ " + _("Previous page"), OverduePage(page - 1))] if page > 0 else []
    if (page + 1) * PER_PAGE < len(rows):
        turns.append(Button(_("Next page") + " ▶", OverduePage(page + 1)))
    return "\n".join(lines), keyboard([turns]) if turns else None
