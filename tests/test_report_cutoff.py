"""The report as it stood on its cut-off date: status changes recorded later have not happened yet."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock, SystemClock
from bot.db import session_factory
from bot.services.audit import record_event
from models import (
    FormKind,
    Group,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
)
from tests.checkin_rows import add_checkin
from tests.factories import make_site

FOLLOWED_FOR = timedelta(days=60)  # each patient's baseline is this long before today


@pytest.fixture
def today(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> date:
    """The test clock's day, not the system's: the real CLI, through which the status changes go, reads the test
    clock too (its SystemClock is stopped there), and the patients live in UTC, so "today" is one day for the CLI,
    the patients and the cut-offs, whenever the run starts and however long it takes."""
    monkeypatch.setattr(SystemClock, "now", lambda _self: clock.now())
    return clock.now().date()


async def consented_patients(
    engine: AsyncEngine, clock: FakeClock, groups: dict[str, Group], *, baseline: date
) -> None:
    async with session_factory(engine)() as session:
        site = await make_site(session, clock, timezone="UTC")
        for study_id, group in groups.items():
            session.add(
                Patient(
                    study_id=study_id,
                    site_id=site.id,
                    group=group,
                    status=PatientStatus.ACTIVE,
                    baseline_date=baseline,
                    timezone="UTC",
                    language="zh_CN",
                    reminder_time=time(9),
                    created_at=clock.now(),
                    consented_at=datetime.combine(baseline, time(1), UTC),
                )
            )
        await session.commit()


def followup(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.stderr


async def report(folder: str, cutoff: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    await asyncio.to_thread(followup, "report", "--out", folder, "--cutoff", cutoff.isoformat())
    tables = Path(folder) / "tables"
    flow = pd.read_csv(tables / "flow.csv").set_index("stage")
    dataset = pd.read_csv(tables / "analysis_dataset.csv").set_index("study_id")
    return flow, dataset


async def test_it_counts_each_patient_as_they_stood_at_the_cut_off(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, today: date
) -> None:
    await consented_patients(
        engine,
        clock,
        {"W1": Group.IL2, "A1": Group.IL2, "D1": Group.CONTROL, "L1": Group.CONTROL},
        baseline=today - FOLLOWED_FOR,
    )
    died_on = today - timedelta(days=20)
    for command in (
        ("patients", "died", "D1", "--date", died_on.isoformat(), "--cause", "lupus nephritis"),
        ("patients", "withdraw", "W1", "--reason-code", "withdraw-consent"),
        ("patients", "lost", "L1", "--reason", "no answer to 5 calls"),
        ("patients", "reinstate", "L1", "--reason", "answered the phone"),
    ):
        await asyncio.to_thread(followup, *command)

    def stages(flow: pd.DataFrame, *names: str) -> list[tuple[int, int]]:
        return [(int(flow.loc[name, "il2"]), int(flow.loc[name, "control"])) for name in names]

    ending = ("in_follow_up_at_cutoff", "withdrew_consent", "died", "lost_to_follow_up")
    flow, dataset = await report("before_death", died_on - timedelta(days=1))
    assert stages(flow, *ending) == [(2, 2), (0, 0), (0, 0), (0, 0)], "nothing had happened yet"
    assert set(dataset["end_reason"]) == {"cutoff"}

    flow, dataset = await report("between", today - timedelta(days=1))  # after the death, before the withdrawal
    assert stages(flow, *ending) == [(2, 1), (0, 0), (0, 1), (0, 0)]
    assert stages(flow, "in_analysis", "enrolled") == [(2, 2), (2, 2)]
    assert (dataset.loc["D1", "end_reason"], dataset.loc["D1", "days"]) == ("died", 40)
    assert (dataset.loc["W1", "end_reason"], dataset.loc["W1", "days"]) == ("cutoff", 59), "still followed then"
    assert (dataset.loc["L1", "end_reason"], dataset.loc["L1", "days"]) == ("cutoff", 59), "lost only later"

    flow, dataset = await report("today", today)
    assert stages(flow, *ending) == [(1, 1), (1, 0), (0, 1), (0, 0)], "L1 was lost, then reinstated"
    assert (dataset.loc["W1", "end_reason"], dataset.loc["W1", "days"]) == ("withdrew_consent", 60)


async def test_it_counts_a_check_in_still_open_at_the_cut_off_as_open_not_missed(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, today: date
) -> None:
    await consented_patients(engine, clock, {"C1": Group.CONTROL}, baseline=today - FOLLOWED_FOR)
    cutoff = today - timedelta(days=1)
    # month: (days before the cut-off it was due, its status now, answered how many days after it was due)
    checkins = {1: (30, "missed", None), 2: (3, "open", None), 3: (2, "done", 1), 4: (1, "done", 3)}
    async with session_factory(engine)() as session:
        patient = (await session.execute(select(Patient))).scalar_one()
        for month, (before, state, answered_after) in checkins.items():
            await add_checkin(
                session,
                patient.id,
                month=month,
                due=datetime.combine(cutoff - timedelta(days=before), time(9), UTC),
                status=state,
                answered_after=None if answered_after is None else timedelta(days=answered_after),
            )
        await session.commit()
    await asyncio.to_thread(followup, "report", "--out", "report", "--cutoff", cutoff.isoformat())
    tables = Path("report") / "tables"
    quality = pd.read_csv(tables / "data_quality.csv").iloc[0]
    # month 1 closed unanswered: missed; month 2 open and unanswered: open; month 3 answered before the cut-off:
    # on time; month 4 answered after the cut-off, in its window: open at the cut-off
    counted = ["checkins_due", "checkins_on_time", "checkins_late", "checkins_missed", "checkins_open"]
    assert quality[counted].tolist() == [2, 1, 0, 1, 2]
    adherence = pd.read_csv(tables / "adherence.csv").iloc[0]
    assert (adherence["checkins_due"], adherence["checkins_completed"]) == (2, 1)
    page = (Path("report") / "report.html").read_text()
    assert "Open at the cut-off" in page
    assert "neither due nor missed" in page


async def test_it_censors_a_patient_lost_at_the_cut_off_at_the_last_contact_before_it(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, today: date
) -> None:
    """Lost 20 days ago, reinstated 2 days ago (the audit trail as the services write it), answered yesterday:
    at a cut-off in between, the patient was lost and is censored at the last contact known then."""
    baseline = today - FOLLOWED_FOR
    await consented_patients(engine, clock, {"L2": Group.CONTROL}, baseline=baseline)
    lost_at = datetime.combine(today - timedelta(days=20), time(8), UTC)
    async with session_factory(engine)() as session:
        patient = (await session.execute(select(Patient))).scalar_one()
        record_event(
            session,
            actor="cli:coordinator",
            action="patient.end.lost",
            entity=patient,
            at=lost_at,
            before={"status": "active", "ended_at": None, "end_reason": None},
            after={"status": "lost", "ended_at": lost_at.isoformat(), "end_reason": "no answer to 5 calls"},
        )
        record_event(
            session,
            actor="cli:coordinator",
            action="patient.reinstate",
            entity=patient,
            at=lost_at + timedelta(days=18),
            before={"status": "lost", "ended_at": lost_at.isoformat(), "end_reason": "no answer to 5 calls"},
            after={"status": "active", "ended_at": None, "end_reason": None, "reason": "answered the phone"},
        )
        for day in (baseline + timedelta(days=10), today - timedelta(days=1)):
            moment = datetime.combine(day, time(10), UTC)
            session.add(
                QuestionnaireResponse(
                    patient_id=patient.id,
                    form=FormKind.CHECKIN,
                    status=ResponseStatus.SUBMITTED,
                    started_at=moment,
                    submitted_at=moment,
                )
            )
        await session.commit()
    flow, dataset = await report("while_lost", today - timedelta(days=5))
    assert int(flow.loc["lost_to_follow_up", "control"]) == 1
    assert int(flow.loc["in_follow_up_at_cutoff", "control"]) == 0
    assert (dataset.loc["L2", "end_reason"], dataset.loc["L2", "days"]) == ("lost_to_follow_up", 10)
    flow, dataset = await report("back", today)
    assert int(flow.loc["in_follow_up_at_cutoff", "control"]) == 1
    assert (dataset.loc["L2", "end_reason"], dataset.loc["L2", "days"]) == ("cutoff", 60)
