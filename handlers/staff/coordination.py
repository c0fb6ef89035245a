"""/status and /export for coordinators and admins, limited to their site (admins: every site)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update

from bot.app import BotContext
from bot.exports.registry import csv_zip
from bot.i18n import N_
from bot.services.audit import record_event
from bot.services.status import may_see_study_data, site_status, sites_of
from handlers.common import stranger_gettext
from handlers.staff.alerts import STAFF_ONLY, current_staff, staff_gettext
from models import Site, Staff

COORDINATORS_ONLY = N_("This command is for coordinators and admins.")


async def coordinator_or_refuse(update: Update, message: Message, session: AsyncSession) -> Staff | None:
    """The coordinator or admin writing; anyone else is told the command is not for them."""
    staff = await current_staff(update, session)
    if staff is None:
        await message.reply_text(stranger_gettext(update)(STAFF_ONLY))
        return None
    if not may_see_study_data(staff):
        await message.reply_text(staff_gettext(staff)(COORDINATORS_ONLY))
        return None
    return staff


async def status_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    deps = context.deps
    async with deps.session() as session:
        staff = await coordinator_or_refuse(update, message, session)
        if staff is None:
            return
        _ = staff_gettext(staff)
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


async def export_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    deps = context.deps
    async with deps.session() as session:
        staff = await coordinator_or_refuse(update, message, session)
        if staff is None:
            return
        _ = staff_gettext(staff)
        limited = sites_of(staff)
        site_code = None if limited is None else (await session.get_one(Site, limited)).code
        with tempfile.TemporaryDirectory() as folder:
            archive = await csv_zip(session, site_code=site_code, folder=Path(folder))
        now = deps.clock.now()
        record_event(
            session,
            actor=f"staff:{staff.id}",
            action="export",
            entity=staff,
            at=now,
            after={"site": site_code or "all", "format": "csv", "bytes": len(archive)},
        )
        await session.commit()
    name = f"nct04136106-{(site_code or 'all').lower()}-{now:%Y%m%d}.zip"
    await message.reply_document(archive, filename=name, caption=_("Datasets and codebook (CSV, UTF-8)."))
