"""Corrections with a reason: `followup answers correct` and `followup patients update` (audited; the original
stays in the audit trail)."""

from __future__ import annotations

from datetime import time
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.patients import app as patients_app
from bot.cli.runtime import Runtime, date_option, fail, run_with_session
from bot.plan import parse_clock_time
from bot.services.corrections import correct_answer
from bot.services.enrollment import get_patient
from bot.services.escalation import ESCALATING
from bot.services.patient_updates import update_patient
from models import Group, TriageLevel

answers_app = typer.Typer(help="Patients' answers.", no_args_is_help=True, rich_markup_mode=None)


@answers_app.command("correct")
def correct(
    study_id: Annotated[str, typer.Option(help="Study ID")],
    month: Annotated[int, typer.Option(min=1, max=60, help="Which monthly check-in (1, 2, ...)")],
    item: Annotated[str, typer.Option(help="Item id, e.g. max_temp (see the codebook)")],
    value: Annotated[str, typer.Option(help="The right value: an option code, codes separated by commas, a number")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Correct one answer of a submitted monthly check-in; the export flags it as corrected."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        patient = await get_patient(session, study_id=study_id)
        before, after, level = await correct_answer(
            session,
            patient=patient,
            month=month,
            item_id=item,
            value=value,
            reason=reason,
            actor=rt.actor,
            protocol=rt.protocol,
            now=rt.clock.now(),
        )
        return f"{patient.study_id} month {month} {item}: {before!r} corrected to {after!r}" + _alerted(level)

    typer.echo(run_with_session(use_case))


def _alerted(level: TriageLevel) -> str:
    if level in ESCALATING:
        return f"; triaged again: {level.value}, the site's clinicians are alerted"
    return ""


@patients_app.command("update")
def update(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
    baseline: Annotated[str | None, typer.Option(help="New baseline date YYYY-MM-DD (re-plans what is ahead)")] = None,
    group: Annotated[Group | None, typer.Option(help="New group (re-plans what is ahead)")] = None,
    il2_start: Annotated[
        str | None, typer.Option(help="Date of the first IL-2 dose YYYY-MM-DD (required when switching to il2)")
    ] = None,
    language: Annotated[str | None, typer.Option(help="New language: a code of the catalogs in locales/")] = None,
    reminder_time: Annotated[str | None, typer.Option(help="New reminder time HH:MM")] = None,
) -> None:
    """Correct a patient's baseline, group, IL-2 start, language or reminder time; contacts still ahead are
    re-planned, past ones stay. Switching to il2 needs --il2-start; switching to control drops the doses ahead."""
    new_baseline = date_option("--baseline", baseline)
    new_il2_start = date_option("--il2-start", il2_start)
    new_time: time | None = None
    if reminder_time is not None:
        new_time = parse_clock_time(reminder_time)
        if new_time is None:
            fail("--reminder-time: use HH:MM, for example 09:00")

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        return await update_patient(
            session,
            patient=patient,
            baseline=new_baseline,
            group=group,
            language=language,
            reminder_time=new_time,
            il2_start=new_il2_start,
            reason=reason,
            protocol=rt.protocol,
            actor=rt.actor,
            now=rt.clock.now(),
        )

    replanned = run_with_session(use_case)
    typer.echo(f"{study_id} updated; {replanned} contacts ahead planned anew")
