"""`followup export` (datasets + codebook) and `followup report` (the group comparison).

pandas, scipy, lifelines, matplotlib and the simulator are imported by the commands that use them: every other
command (and `--help`) starts in a fraction of the time.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import Runtime, console, date_option, fail, run_with_session
from bot.i18n import SOURCE_LANGUAGE
from bot.services.sites import get_site

if TYPE_CHECKING:
    from bot.simulator.demo import DemoResult


def export_command(
    out: Annotated[Path, typer.Option(help="Folder to write the files into (created if needed)")],
    fmt: Annotated[str, typer.Option("--format", help="csv (UTF-8 with BOM), xlsx, parquet or stata")] = "csv",
    site: Annotated[str | None, typer.Option(help="Only this site's patients")] = None,
) -> None:
    """Export every dataset (patients, checkins, answers, doses, escalations, infections) and the codebook."""
    from bot.exports.registry import FORMATS, expected_rows, export_study

    if fmt not in FORMATS:
        fail(f"--format: use one of {', '.join(FORMATS)}")

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
                fmt=fmt,
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
    language: Annotated[
        str, typer.Option(help="Language of report.html: a code of the catalogs in locales/")
    ] = SOURCE_LANGUAGE,
) -> None:
    """The group comparison (STROBE): flow, Table 1, incidence, Cox, Kaplan-Meier, infections, data quality."""
    from bot.i18n import languages
    from bot.report_files import write_report
    from bot.services.report import load_study

    if language not in languages():
        fail(f"--language: use one of {', '.join(languages())}")

    today = datetime.now(UTC).date()
    until = date_option("--cutoff", cutoff) or today
    if until > today:
        fail(f"--cutoff: {until} is later than today; follow-up time cannot be counted ahead")

    async def use_case(session: AsyncSession, rt: Runtime) -> Path:
        return write_report(await load_study(session, protocol=rt.protocol, cutoff=until), out, language=language)

    typer.echo(str(run_with_session(use_case)))


def demo_command(
    folder: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to keep the database and outputs (default: a new temporary folder)"),
    ] = None,
    patients: Annotated[int, typer.Option(min=4, max=500, help="Simulated patients")] = 40,
    days: Annotated[int, typer.Option(min=30, max=800, help="Simulated days")] = 760,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same study)")] = 7,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the study console on the demo's data")] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="The console's port with --serve")] = 8080,
) -> None:
    """A whole simulated study, offline: the real bot against a loopback Telegram, two years on a fast clock."""
    from bot.simulator.demo import prepare, run_demo

    target = folder or Path(tempfile.mkdtemp(prefix="followup-demo-"))
    prepare(target)
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("day {task.completed:.0f} of {task.total:.0f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task("days", total=days)
        result = asyncio.run(
            run_demo(
                folder=target,
                patients=patients,
                days=days,
                seed=seed,
                progress=lambda done, _total: progress.update(task, completed=done),
            )
        )
    console.print(transcript(result, result.patient_chat, "A patient (Chinese)"))
    console.print(transcript(result, result.clinician_chat, "A clinician at PKU", limit=30))
    console.print(f"\n{patients} patients, {days} simulated days, {result.infections} infections.")
    console.print(f"Outputs in {target}:")
    for path in result.files:
        console.print(f"  {path}")
    if serve:
        from bot.cli.web import serve_demo
        from bot.simulator.demo import START

        serve_demo(target, simulated_end=START + timedelta(days=days), port=port)


def transcript(result: DemoResult, chat: int, title: str, limit: int = 40) -> str:
    lines = [f"\n── {title} ──"]
    for _chat, side, text in [entry for entry in result.transcript if entry[0] == chat][:limit]:
        if text.startswith("/start "):
            text = "/start ••••••••  (the one-time link's code)"
        arrow = "👤" if side == "user" else "🤖"
        lines.append(f"{arrow} " + text.replace("\n", "\n   "))
    return "\n".join(lines)
