"""/status and /export for coordinators and admins, limited to their site (admins: every site)."""

from __future__ import annotations

from telegram import Message

from bot.services.console_exports import csv_archive
from bot.services.status import site_status
from handlers.context import BotContext
from handlers.staff.access import coordinator_command
from models import Staff


@coordinator_command
async def status_command(message: Message, staff: Staff, context: BotContext) -> None:
    deps = context.deps
    _ = context.gettext
    async with deps.session() as session:
        blocks = []
        for row in await site_status(session, staff=staff, now=deps.clock.now()):
            rate = row.dose_confirmation_rate
            blocks.append(
                "\n".join(
                    [
                        f"🏥 {row.site}",
                        _("Active patients: {count}").format(count=row.active),
                        _("Check-ins due today: {count}").format(count=row.due_today),
                        _("Overdue check-ins: {count}").format(count=row.overdue),
                        _("Missed check-ins: {count}").format(count=row.missed),
                        _("Cannot be reached: {count}").format(count=row.unreachable),
                        _("Open alerts: {count}").format(count=row.open_escalations),
                        _("Doses confirmed: {rate}").format(
                            rate="–" if rate is None else f"{rate:.0%} ({row.doses_confirmed}/{row.doses_closed})"
                        ),
                    ]
                )
            )
    await message.reply_text("\n\n".join(blocks) or _("No sites yet."))


@coordinator_command
async def export_command(message: Message, staff: Staff, context: BotContext) -> None:
    now = context.deps.clock.now()
    async with context.deps.session() as session:
        archive = await csv_archive(session, staff=staff, now=now, via="telegram")
    await message.reply_document(
        archive.content, filename=archive.filename(now), caption=context.gettext("Datasets and codebook (CSV, UTF-8).")
    )
