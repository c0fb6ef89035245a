"""`followup export` (datasets + codebook) and `followup report` (the group comparison)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import Runtime, fail, run_with_session
from bot.export_files import FORMATS, Format, expected_rows, export_study
from bot.report_files import write_report
from bot.services.errors import DomainError
from bot.services.report import load_study
from bot.services.sites import get_site


def export_command(
    out: Annotated[Path, typer.Option(help="Folder to write the files into (created if needed)")],
    fmt: Annotated[str, typer.Option("--format", help="csv (UTF-8 with BOM), xlsx, parquet or stata")] = "csv",
    site: Annotated[str | None, typer.Option(help="Only this site's patients")] = None,
) -> None:
    """Export every dataset (patients, checkins, answers, doses, escalations, infections) and the codebook."""
    if fmt not in FORMATS:
        fail(f"--format: use one of {', '.join(FORMATS)}")
    chosen: Format = fmt

    async def use_case(session: AsyncSession, rt: Runtime) -> list[Path]:
        if site is not None:
            await get_site(session, code=site)
        totals = await expected_rows(session, site_code=site)
        columns = (TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, transient=True) as progress:
            tasks = {name: progress.add_task(name, total=max(total, 1)) for name, total in totals.items()}
            return await export_study(
                session,
                out=out,
                fmt=chosen,
                site_code=site,
                progress=lambda dataset, rows: progress.advance(tasks[dataset], rows),
            )

    for path in run_with_session(use_case):
        typer.echo(str(path))


def report_command(
    out: Annotated[Path, typer.Option(help="Folder for report.html, km.png and tables/*.csv")],
    cutoff: Annotated[
        str | None, typer.Option(help="Count follow-up up to this date, YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """The group comparison: incidence, rate ratio, Kaplan-Meier, infection characteristics, adherence."""
    try:
        until = date.fromisoformat(cutoff) if cutoff else datetime.now(UTC).date()
    except ValueError:
        fail(f"--cutoff: {cutoff!r} is not a date in the form YYYY-MM-DD")

    async def use_case(session: AsyncSession, rt: Runtime) -> Path:
        data = await load_study(session, protocol=rt.protocol, cutoff=until)
        if data.patients.empty:
            raise DomainError("no patients to report on before the cut-off")
        return write_report(data, out)

    typer.echo(str(run_with_session(use_case)))
