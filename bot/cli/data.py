"""`followup export` (datasets + codebook) and `followup report` (the group comparison)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import Runtime, fail, run_with_session
from bot.export_files import FORMATS, Format, expected_rows, export_study
from bot.services.sites import get_site


def export_command(
    out: Annotated[Path, typer.Option(help="Folder to write the files into (created if needed)")],
    fmt: Annotated[
        str, typer.Option("--format", help="csv (UTF-8 with BOM), xlsx, parquet or stata")
    ] = "csv",
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
