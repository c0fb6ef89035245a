"""A staff member's pending typed answer: it lapses after 30 minutes, and it must be visible text."""

from __future__ import annotations

from datetime import timedelta

from models import EscalationStatus
from tests.escalation_study import CLINICIAN_A, Study, urgent_report


async def _tap_not_an_infection(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    await study.bot.tap(CLINICIAN_A, "Acknowledge")
    await study.bot.tap(CLINICIAN_A, "Not an infection")


async def test_it_lets_the_question_for_a_dismissal_reason_lapse_after_30_minutes(study: Study) -> None:
    bot, clock = study.bot, study.clock
    await _tap_not_an_infection(study)
    clock.advance(timedelta(minutes=31))
    await bot.send(CLINICIAN_A, "see you tomorrow")
    assert bot.last_text(CLINICIAN_A).startswith("This was not recorded as a reason")
    escalation = await study.escalation()
    assert (escalation.status, escalation.resolution_reason) == (EscalationStatus.ACKNOWLEDGED, None)
    await bot.send(CLINICIAN_A, "lupus flare")
    assert (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED
    await bot.tap(CLINICIAN_A, "Not an infection")
    clock.advance(timedelta(minutes=29))
    await bot.send(CLINICIAN_A, "lupus flare")
    assert bot.last_text(CLINICIAN_A) == "Recorded: not an infection."
    assert (await study.escalation()).resolution_reason == "lupus flare"


async def test_it_refuses_a_dismissal_reason_with_nothing_visible(study: Study) -> None:
    bot = study.bot
    await _tap_not_an_infection(study)
    for invisible in ("\u200b\u200b", "\u200d \u2060\u00a0\ufeff", "\u202e\u200e"):
        await bot.send(CLINICIAN_A, invisible)
        assert bot.last_text(CLINICIAN_A) == "Please type the reason in words."
    assert (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED
    await bot.send(CLINICIAN_A, "\u200bdrug\u200b fever")
    assert (await study.escalation()).resolution_reason == "drug fever"
