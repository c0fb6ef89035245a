"""`followup infections record|amend|void`: infections found at clinic visits, and corrections with a reason."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import ROW_NUMBER, Runtime, date_option, run_with_session
from bot.infection_fields import codes_help
from bot.services.corrections import amend_infection
from bot.services.enrollment import get_patient
from bot.services.infection_voids import void_infection
from bot.services.infections import details_or_error, record_infection
from models import InfectionSource, Outcome

TREATMENT_HELP = "One or more, comma-separated: " + codes_help("treatments")

app = typer.Typer(help="Confirmed infections.", no_args_is_help=True, rich_markup_mode=None)


@app.command("record")
def record(
    study_id: Annotated[str, typer.Option(help="Study ID")],
    onset: Annotated[str, typer.Option(help="Onset date YYYY-MM-DD")],
    site_type: Annotated[str, typer.Option(help=codes_help("site_type"))],
    pathogen: Annotated[str, typer.Option(help=codes_help("pathogen"))],
    grade: Annotated[str, typer.Option(help="CTCAE grade 1-5")],
    treatment: Annotated[str, typer.Option(help=TREATMENT_HELP)],
    organism: Annotated[str | None, typer.Option(help="Organism found, free text")] = None,
    hospitalized: Annotated[bool, typer.Option("--hospitalized", help="The patient was admitted")] = False,
    outcome: Annotated[str, typer.Option(help=codes_help("outcome"))] = Outcome.UNKNOWN.value,
    died_on: Annotated[
        str | None, typer.Option(help="Date of death YYYY-MM-DD: required with grade 5 (outcome fatal)")
    ] = None,
) -> None:
    """Record a confirmed infection. The patient's first one ends their follow-up; a grade 5 (fatal) one ends it
    as died on --died-on."""
    death = date_option("--died-on", died_on)

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        details = details_or_error(
            onset_date=onset,
            site_type=site_type,
            pathogen=pathogen,
            organism=organism,
            ctcae_grade=grade,
            treatments=treatment,
            hospitalized=hospitalized,
            outcome=outcome,
        )
        patient = await get_patient(session, study_id=study_id)
        was = patient.status
        await record_infection(
            session,
            patient=patient,
            details=details,
            source=InfectionSource.CLINIC,
            actor=rt.actor,
            now=rt.clock.now(),
            died_on=death,
        )
        ended = "; follow-up ended" if patient.status is not was else ""
        return f"infection recorded for {patient.study_id}{ended}"

    typer.echo(run_with_session(use_case))


@app.command("amend")
def amend(
    infection_id: Annotated[int, typer.Argument(help="Infection number (see the infections export)", **ROW_NUMBER)],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
    onset: Annotated[str | None, typer.Option(help="Onset date YYYY-MM-DD")] = None,
    site_type: Annotated[str | None, typer.Option(help=codes_help("site_type"))] = None,
    pathogen: Annotated[str | None, typer.Option(help=codes_help("pathogen"))] = None,
    organism: Annotated[str | None, typer.Option(help="Organism found, free text")] = None,
    grade: Annotated[str | None, typer.Option(help="CTCAE grade 1-5")] = None,
    treatment: Annotated[str | None, typer.Option(help=TREATMENT_HELP)] = None,
    hospitalized: Annotated[
        bool | None, typer.Option("--hospitalized/--not-hospitalized", help="Whether the patient was admitted")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help=codes_help("outcome"))] = None,
    died_on: Annotated[
        str | None, typer.Option(help="Date of death YYYY-MM-DD: required when the amendment makes it grade 5")
    ] = None,
) -> None:
    """Correct fields of a recorded infection; the export flags it as corrected. Made grade 5 (fatal), follow-up
    ends as died on --died-on; no longer grade 5, the death recorded with it is withdrawn."""
    death = date_option("--died-on", died_on)

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        infection, follow_up = await amend_infection(
            session,
            infection_id=infection_id,
            changes={
                "onset_date": onset,
                "site_type": site_type,
                "pathogen": pathogen,
                "organism": organism,
                "ctcae_grade": grade,
                "treatments": treatment,
                "hospitalized": hospitalized,
                "outcome": outcome,
            },
            reason=reason,
            actor=rt.actor,
            now=rt.clock.now(),
            died_on=death,
        )
        return f"infection #{infection.id} amended" + (f"; {follow_up}" if follow_up else "")

    typer.echo(run_with_session(use_case))


@app.command("void")
def void(
    infection_id: Annotated[int, typer.Argument(help="Infection number (see the infections export)", **ROW_NUMBER)],
    reason: Annotated[str, typer.Option(help="Why it was entered in error (kept in the audit trail)")],
) -> None:
    """Mark an infection as entered in error: it is kept, flagged void, and no longer counted. If it ended the
    patient's follow-up, the next infection by onset becomes the end, or follow-up reopens from today."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        infection, follow_up = await void_infection(
            session, infection_id=infection_id, reason=reason, actor=rt.actor, now=rt.clock.now()
        )
        return f"infection #{infection.id} void" + (f"; {follow_up}" if follow_up else "")

    typer.echo(run_with_session(use_case))
