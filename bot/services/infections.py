"""Recording a confirmed infection. The patient's first one ends follow-up."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for
from bot.infection_fields import INFECTION_FIELD
from bot.roles import DEATH_NOTICE_ROLES
from bot.services.audit import audited, record_event, snapshot
from bot.services.errors import DomainError, InvalidValue
from bot.services.follow_up import ENDED_STATUSES, NO_CONTACT_STATUSES, end_follow_up
from bot.services.form_errors import form_problem
from bot.services.notices import tell_staff
from bot.services.patient_status import record_death
from models import (
    Escalation,
    EscalationStatus,
    Infection,
    InfectionSite,
    InfectionSource,
    Outcome,
    Pathogen,
    Patient,
    PatientStatus,
    Site,
    Staff,
    Treatment,
)

UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)
GRADES = [int(code) for code in INFECTION_FIELD["ctcae_grade"].codes]


CTCAE_VERSION = "5.0"  # the grades' meaning (grade 5: death), stored with every record
GRADE_5_IS_FATAL = N_("Grade 5 means death: grade 5 and the outcome “Fatal” go together.")
DEATH_NOTICE = N_(
    "⚫ {study_id} ({site}): an infection was recorded as fatal (CTCAE grade 5) by {actor}. The patient's status "
    "is now “died” ({date}); nothing was sent to the patient's chat."
)


class InfectionDetails(BaseModel):
    """What a clinician records about a confirmed infection (the same for the CLI and the Telegram form)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    onset_date: date
    site_type: InfectionSite
    pathogen: Pathogen
    organism: str | None = Field(default=None, max_length=INFECTION_FIELD["organism"].max_length)
    ctcae_grade: int = Field(ge=min(GRADES), le=max(GRADES))
    treatments: list[Treatment] = Field(min_length=1)
    hospitalized: bool = False
    outcome: Outcome = Outcome.UNKNOWN

    @field_validator("organism")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("treatments", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("treatments")
    @classmethod
    def _none_alone(cls, value: list[Treatment]) -> list[Treatment]:
        if Treatment.NONE in value and len(value) > 1:
            raise ValueError("'none' cannot go with a treatment")
        return list(dict.fromkeys(value))

    def columns(self) -> dict[str, object]:
        """The values as the infection's columns (treatments as their codes)."""
        return {**self.model_dump(), "treatments": [treatment.value for treatment in self.treatments]}

    @model_validator(mode="after")
    def _grade_5_is_death(self) -> InfectionDetails:
        if (self.ctcae_grade == 5) != (self.outcome is Outcome.FATAL):
            raise InvalidValue(GRADE_5_IS_FATAL)
        return self


assert tuple(InfectionDetails.model_fields) == tuple(INFECTION_FIELD), "the fields of bot/infection_fields.py"


def details_or_error(**values: object) -> InfectionDetails:
    """The details, or their first problem as the other forms word it (`form_problem`): English on the command
    line, the reader's language on a page or in Telegram."""
    try:
        return InfectionDetails.model_validate(values)
    except ValidationError as error:
        raise form_problem(error, pattern_rules={}) from None


def check_onset(details: InfectionDetails, *, patient: Patient, now: datetime) -> date:
    """The onset is neither in the future (the patient's today, returned) nor before the baseline, nor after a
    recorded death."""
    today = now.astimezone(ZoneInfo(patient.timezone)).date()
    if details.onset_date > today:
        raise DomainError(N_("onset: {onset} is in the future"), onset=details.onset_date)
    if details.onset_date < patient.baseline_date:
        raise DomainError(
            N_("onset: {onset} is before the patient's baseline {baseline}"),
            onset=details.onset_date,
            baseline=patient.baseline_date,
        )
    if patient.died_on is not None and details.onset_date > patient.died_on:
        raise DomainError(
            N_("onset: {onset} is after the patient's death ({died_on})"),
            onset=details.onset_date,
            died_on=patient.died_on,
        )
    return today


def first_infection_reason(onset: date) -> str:
    return f"first confirmed infection (onset {onset})"


async def record_infection(
    session: AsyncSession,
    *,
    patient: Patient,
    details: InfectionDetails,
    source: InfectionSource,
    actor: str,
    now: datetime,
    escalation: Escalation | None = None,
    died_on: date | None = None,
) -> Infection:
    """Store the infection; close the patient's unresolved escalation as confirmed; end follow-up if first.
    A grade 5 (fatal) infection needs the date of death (`died_on`, not before the onset): follow-up ends then."""
    today = check_onset(details, patient=patient, now=now)
    check_death_date(details, died_on=died_on, patient=patient, today=today)
    earliest = await session.scalar(
        select(func.min(Infection.onset_date)).where(Infection.patient_id == patient.id, Infection.voided_at.is_(None))
    )
    first = earliest is None
    if escalation is None:
        escalation = await session.scalar(
            select(Escalation).where(Escalation.patient_id == patient.id, Escalation.status.in_(UNRESOLVED))
        )
    infection = Infection(
        ctcae_version=CTCAE_VERSION,
        patient_id=patient.id,
        escalation_id=escalation.id if escalation else None,
        source=source,
        recorded_by=actor,
        recorded_at=now,
        **details.columns(),
    )
    session.add(infection)
    await session.flush()
    record_event(session, actor=actor, action="infection.record", entity=infection, at=now, after=snapshot(infection))
    if escalation is not None:
        with audited(session, entity=escalation, actor=actor, action="escalation.confirm", at=now):
            escalation.status = EscalationStatus.CONFIRMED
            escalation.resolved_at = now
            escalation.next_step_at = None
    if earliest is not None and details.onset_date < earliest and patient.status is PatientStatus.INFECTED:
        # entered after another with a later onset: the first infection, and the end of follow-up, move earlier
        with audited(session, entity=patient, actor=actor, action="patient.first_infection_moved", at=now):
            patient.end_reason = first_infection_reason(details.onset_date)
    if died_on is not None and patient.status is not PatientStatus.DIED:
        await record_fatal(session, patient=patient, infection=infection, died_on=died_on, actor=actor, now=now)
    elif first and patient.status not in ENDED_STATUSES:
        was = patient.status
        await end_follow_up(
            session,
            patient=patient,
            status=PatientStatus.INFECTED,
            reason=first_infection_reason(details.onset_date),
            actor=actor,
            now=now,
        )
        if patient.telegram_chat_id is not None and was not in NO_CONTACT_STATUSES:  # not if they asked for none
            _ = gettext_for(patient.language)
            await enqueue(
                session,
                dedupe_key=f"closing:{patient.id}:{infection.id}",  # again if a void reopened follow-up
                chat_id=patient.telegram_chat_id,
                now=now,
                patient_id=patient.id,
                payload={
                    "text": _(
                        "Your study team has recorded an infection, so your follow-up in this study ends "
                        "here. Thank you very much for taking part. Please keep following your doctors' "
                        "advice."
                    )
                },
            )
    await session.commit()
    return infection


def check_death_date(details: InfectionDetails, *, died_on: date | None, patient: Patient, today: date) -> None:
    """A date of death goes with grade 5 and only with it, between the onset and today; for a patient whose death
    is recorded already (on its own, or with another infection) it can only be that date."""
    if details.ctcae_grade != 5:
        if died_on is not None:
            raise DomainError(N_("date of death: only for a grade 5 (fatal) infection"))
        return
    if patient.status is PatientStatus.DIED:
        if died_on not in (None, patient.died_on):
            raise DomainError(
                N_("date of death: {study_id}'s death is recorded already ({died_on})"),
                study_id=patient.study_id,
                died_on=patient.died_on,
            )
        return
    if died_on is None:
        raise DomainError(N_("date of death: give it for a grade 5 (fatal) infection"))
    if died_on > today:
        raise DomainError(N_("date of death: {died_on} is in the future"), died_on=died_on)
    if died_on < details.onset_date:
        raise DomainError(
            N_("date of death: {died_on} is before the onset {onset}"), died_on=died_on, onset=details.onset_date
        )


def death_reason(infection: Infection) -> str:
    """The end reason of a death recorded with a fatal infection: which one (a cause typed for a death recorded
    on its own always reads "died: …", so it can never be taken for this)."""
    return f"died of infection #{infection.id} (CTCAE grade 5, onset {infection.onset_date})"


def death_infection_id(patient: Patient) -> int | None:
    """The infection the patient's death was recorded with, if it was (`death_reason`)."""
    found = _DEATH_REASON.match(patient.end_reason or "") if patient.status is PatientStatus.DIED else None
    return int(found.group(1)) if found else None


_DEATH_REASON = re.compile(r"died of infection #(\d+) \(")


async def tell_of_death(
    session: AsyncSession, *, patient: Patient, notice: str, died_on: date, key: str, actor: str, now: datetime
) -> None:
    """The site's PI and the study admins are told `notice` (a msgid with the study id, the site, who did it and
    the date of death), each in their language."""
    site = await session.get_one(Site, patient.site_id)
    who = actor
    if actor.startswith("staff:"):
        staff = await session.get(Staff, int(actor.removeprefix("staff:")))
        who = staff.name if staff is not None else actor
    await tell_staff(
        session,
        site_id=patient.site_id,
        roles=DEATH_NOTICE_ROLES,
        key=key,
        now=now,
        text=lambda _: _(notice).format(study_id=patient.study_id, site=site.code, actor=who, date=died_on.isoformat()),
    )


async def record_fatal(
    session: AsyncSession,
    *,
    patient: Patient,
    infection: Infection,
    died_on: date,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """A grade 5 infection (flushed): the patient died on `died_on`. Follow-up ends as died, nothing goes to the
    patient's chat (pending messages are cancelled), and the site's PI and the study admins are told."""
    cause = f"infection, CTCAE grade 5 (onset {infection.onset_date})"
    await record_death(
        session,
        patient=patient,
        died_on=died_on,
        cause=cause,
        actor=actor,
        now=now,
        end_reason=death_reason(infection),
        reason=reason,
    )
    await tell_of_death(
        session,
        patient=patient,
        notice=DEATH_NOTICE,
        died_on=died_on,
        key=f"died:{patient.id}:{now.isoformat()}",  # again if a correction withdrew an earlier one
        actor=actor,
        now=now,
    )
