"""`followup patients list --overdue`: who needs a call."""

from __future__ import annotations

from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import Runtime, console, run_with_session
from bot.services.overdue import overdue_patients
from bot.services.sites import get_site


def print_overdue(site: str | None) -> None:
    async def use_case(session: AsyncSession, rt: Runtime) -> Table:
        if site is not None:
            await get_site(session, code=site)
        table = Table(title="who needs a call (missed: the latest check-ins missed in a row)")
        for header in ("study ID", "site", "last check-in", "missed", "next due", "telegram", "open alerts"):
            table.add_column(header, no_wrap=True, min_width=10 if "check-in" in header or "due" in header else None)
        for row in await overdue_patients(session, site_code=site, now=rt.clock.now()):
            telegram = "never linked" if row.never_linked else ("unreachable" if row.unreachable else "linked")
            table.add_row(
                row.study_id,
                row.site,
                row.last_checkin.isoformat() if row.last_checkin else "-",
                str(row.missed_in_a_row),
                row.next_due.isoformat() if row.next_due else "-",
                telegram,
                str(row.open_alerts),
            )
        return table

    console.print(run_with_session(use_case))
