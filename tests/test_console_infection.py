"""Confirm infection from the console's alerts page: one form, checked like Telegram's guided form (CTCAE grade
meanings, grade 5 with the outcome fatal, onset not before the baseline, several treatments), saved by the same
service with the same effects: the escalation confirmed, follow-up ended, the patient told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db import session_factory
from models import EscalationStatus, Infection, Patient, PatientStatus
from tests.console_fixtures import console_client, signed_in, staff_with
from tests.escalation_study import CLINICIAN_A, CLINICIAN_B, COORDINATOR_A, PATIENT, Study, urgent_report


async def baseline(study: Study) -> str:
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient))
    assert patient is not None
    return patient.baseline_date.isoformat()


def record(onset: str, **changes: object) -> dict[str, object]:
    return {
        "onset_date": onset,
        "site_type": "pneumonia",
        "pathogen": "bacterial",
        "organism": "肺炎链球菌",
        "ctcae_grade": "3",
        "treatments": ["iv_antimicrobial", "procedure"],
        "hospitalized": "yes",
        "outcome": "ongoing",
        **changes,
    }


async def infections(study: Study) -> int:
    async with session_factory(study.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(Infection)) or 0)


async def test_it_confirms_an_infection_with_the_effects_of_telegrams_save(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_A))
        listed = (await client.get("/alerts")).text
        assert f'action="/alerts/{escalation.id}/infection"' in listed
        assert "3 · IV treatment or hospital" in listed  # the grades with their CTCAE meanings
        assert 'name="treatments" value="procedure"' in listed
        done = await client.post(
            f"/alerts/{escalation.id}/infection", data={"csrf_token": csrf, **record(await baseline(study))}
        )
        assert (done.status_code, done.headers["location"]) == (303, "/alerts?done=confirmed")
        assert "Recorded: infection confirmed." in (await client.get(done.headers["location"])).text
    assert (await study.escalation()).status is EscalationStatus.CONFIRMED
    async with session_factory(study.engine)() as session:
        infection = await session.scalar(select(Infection))
        patient = await session.scalar(select(Patient))
    assert infection is not None
    assert patient is not None
    assert (infection.ctcae_grade, infection.treatments, infection.hospitalized) == (
        3,
        ["iv_antimicrobial", "procedure"],
        True,
    )
    assert infection.organism == "肺炎链球菌"
    assert patient.status is PatientStatus.INFECTED
    await study.jobs.tick()
    assert "随访到此结束" in study.bot.stub.texts_to(PATIENT)[-1]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"ctcae_grade": "5"}, "Grade 5 means death: grade 5 and the outcome “Fatal” go together."),
        ({"outcome": "fatal"}, "Grade 5 means death: grade 5 and the outcome “Fatal” go together."),
        ({"ctcae_grade": "6"}, "Please tap one of the buttons."),
        ({"treatments": []}, "Choose at least one treatment, or None."),
        ({"treatments": ["none", "antiviral"]}, "“None” cannot go with other treatments."),
        ({"treatments": ["antiviral", "antiviral"]}, "Please tap one of the buttons."),
        ({"onset_date": "1 March"}, "Please type the date as 2026-03-01"),
        ({"organism": "x" * 201}, "Please keep the organism under 200 characters."),
    ],
)
async def test_it_refuses_a_record_that_telegrams_form_refuses(
    study: Study, changes: dict[str, object], problem: str
) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_A))
        refused = await client.post(
            f"/alerts/{escalation.id}/infection",
            data={"csrf_token": csrf, **record(await baseline(study), **changes)},
        )
    assert refused.status_code == 400
    assert "Not saved: " in refused.text
    assert problem in refused.text
    assert await infections(study) == 0
    assert (await study.escalation()).status is EscalationStatus.OPEN


async def test_it_refuses_an_onset_before_the_baseline(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_A))
        before = (study.clock.now() - timedelta(days=40)).date().isoformat()
        refused = await client.post(f"/alerts/{escalation.id}/infection", data={"csrf_token": csrf, **record(before)})
    assert refused.status_code == 400
    assert "The onset cannot be before the patient&#39;s baseline" in refused.text
    assert await infections(study) == 0


async def test_it_lets_only_the_sites_clinicians_confirm(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    for chat, expected in ((COORDINATOR_A, 403), (CLINICIAN_B, 404)):
        async with console_client(study.engine, study.clock) as client:
            csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, chat))
            response = await client.post(
                f"/alerts/{escalation.id}/infection", data={"csrf_token": csrf, **record(await baseline(study))}
            )
            assert response.status_code == expected
    async with console_client(study.engine, study.clock) as client:
        await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_A))
        forged = await client.post(
            f"/alerts/{escalation.id}/infection", data={"csrf_token": "0" * 64, **record(await baseline(study))}
        )
        assert forged.status_code == 403
    assert await infections(study) == 0
