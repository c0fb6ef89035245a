"""What typed text answers: one model for every question that waits for words.

Four questions can wait for text: a patient's reminder time (`patients.awaiting`), an item of their open
questionnaire, a typed field of a staff member's infection record (`staff.awaiting` "infection"), and the
reason for "Not an infection" (`staff.awaiting` "dismiss:<id>", see staff_prompts). Each is stored where its
use case keeps it; `awaited_from_patient` and `awaited_from_staff` say which one a text answers, as one of the
values below, so the handlers (and any other adapter) decide in one place. None: nothing waits, the text is
the person's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import checkins, infection_form, staff_prompts
from bot.services.onboarding import FIRST_REMINDER_TIME, REMINDER_TIME
from models import Answer, Patient, Staff


@dataclass(frozen=True)
class ReminderTimeText:
    """The patient was asked for a reminder time (after consent, or with /time)."""


@dataclass(frozen=True)
class QuestionText:
    """An item of the patient's open questionnaire waits for its answer."""


@dataclass(frozen=True)
class InfectionFieldText:
    """The staff member's infection record waits for `field`; `typed` is False for a field answered by a tap."""

    field: str
    typed: bool


@dataclass(frozen=True)
class DismissalReasonText:
    """The reason why escalation `escalation_id` is not an infection; `lapsed`: asked too long ago (the
    question is dropped, the text is not taken for it)."""

    escalation_id: int
    lapsed: bool


AwaitedText = ReminderTimeText | QuestionText | InfectionFieldText | DismissalReasonText


async def awaited_from_patient(session: AsyncSession, *, patient: Patient) -> ReminderTimeText | QuestionText | None:
    """Which question typed text answers: the one the patient saw last.

    Two can wait at once: the reminder-time question (shown at `patients.awaiting_since`) and an item of an
    open questionnaire (shown when the questionnaire started, or when its latest answer moved it on), e.g. a
    patient who sends /checkin before choosing a time, or /time in the middle of a check-in. The newer one
    wins; on a tie the questionnaire does (a lost time is simply asked again).
    """
    response = await checkins.in_progress(session, patient=patient)
    question_at = None
    if response is not None and response.current_item is not None:
        latest = select(func.max(Answer.answered_at)).where(Answer.response_id == response.id)
        last_answer = await session.scalar(latest)
        question_at = max(response.started_at, last_answer) if last_answer is not None else response.started_at
    if patient.awaiting in (FIRST_REMINDER_TIME, REMINDER_TIME) and (
        question_at is None or (patient.awaiting_since is not None and patient.awaiting_since > question_at)
    ):
        return ReminderTimeText()
    return QuestionText() if question_at is not None else None


async def awaited_from_staff(
    session: AsyncSession, *, staff: Staff, now: datetime
) -> InfectionFieldText | DismissalReasonText | None:
    """Which question a staff member's text answers. A dismissal reason asked too long ago lapses here (and
    that is committed)."""
    escalation_id = staff_prompts.awaited_dismissal(staff)
    if escalation_id is not None:
        lapsed = await staff_prompts.lapse_if_stale(session, staff=staff, now=now)
        return DismissalReasonText(escalation_id, lapsed)
    if staff.awaiting == "infection":
        field = infection_form.next_field(staff.draft or {})
        return InfectionFieldText(field, typed=field in infection_form.TYPED)
    return None
