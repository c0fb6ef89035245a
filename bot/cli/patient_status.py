"""`followup patients reinstate|died|death-date|lost`: a patient's status, changed with a reason (audited)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.patients import app
from bot.cli.runtime import Runtime, date_option, run_with_session
from bot.services.enrollment import get_patient
from bot.services.patient_status import correct_death_date, mark_lost, record_death, reinstate


@app.command("reinstate")
def reinstate_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Take a withdrawn or lost patient back into follow-up; contacts still ahead are planned again."""

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        return await reinstate(session, patient=patient, reason=reason, actor=rt.actor, now=rt.clock.now())

    planned = run_with_session(use_case)
    typer.echo(f"{study_id} reinstated; {planned} contacts planned again")


@app.command("died")
def died_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    on: Annotated[str, typer.Option("--date", help="Date of death, YYYY-MM-DD")],
    cause: Annotated[str | None, typer.Option(help="Cause of death (kept in the audit trail)")] = None,
) -> None:
    """Record a patient's death: follow-up ends on that date."""
    died_on = date_option("--date", on)

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        cancelled = await record_death(
            session, patient=patient, died_on=died_on, cause=cause, actor=rt.actor, now=rt.clock.now()
        )
        await session.commit()
        return cancelled

    cancelled = run_with_session(use_case)
    typer.echo(f"death of {study_id} on {died_on} recorded; {cancelled} future contacts cancelled")


@app.command("death-date")
def death_date_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    on: Annotated[str, typer.Option("--date", help="The right date of death, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Correct a recorded date of death (however it was recorded)."""
    died_on = date_option("--date", on)

    async def use_case(session: AsyncSession, rt: Runtime) -> date:
        patient = await get_patient(session, study_id=study_id)
        return await correct_death_date(
            session, patient=patient, died_on=died_on, reason=reason, actor=rt.actor, now=rt.clock.now()
        )

    replaced = run_with_session(use_case)
    typer.echo(f"date of death of {study_id} corrected: {replaced} → {died_on}")


@app.command("lost")
def lost_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    reason: Annotated[str, typer.Option(help="What was tried (kept in the audit trail)")],
) -> None:
    """Lost to follow-up: contacts stop; the report counts the patient's time up to their last contact."""

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        return await mark_lost(session, patient=patient, reason=reason, actor=rt.actor, now=rt.clock.now())

    cancelled = run_with_session(use_case)
    typer.echo(f"{study_id} lost to follow-up; {cancelled} future contacts cancelled")
