"""A fatal infection (grade 5, outcome fatal) is dated by the date of death the clinician gives, asked with the
same date input as the onset (Telegram's guided form, the console's form, `followup infections record
--died-on`), never by the day it happens to be recorded."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from bot.db import session_factory, sync_url
from models import AuditEvent, Infection, OutboxMessage, Patient, PatientStatus, Staff
from tests.console_fixtures import console_client, signed_in, staff_with
from tests.escalation_study import ADMIN, CLINICIAN_A, PI_A, Study, urgent_report
from tests.test_cli import counts, followup
from tests.test_cli import study as cli_study  # noqa: F401 - the CLI's study fixture
from tests.test_console_infection import baseline, record

TODAY = date.today()
PI_CHAT = 777001


def _enroll_s001() -> None:
    """S001 at PKU, enrolled 30 days ago, through the CLI."""
    enrolled_on = (TODAY - timedelta(days=30)).isoformat()
    assert followup(
        "patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001", "--enrolled-on", enrolled_on
    )[0] == 0  # fmt: skip


async def _patient(study: Study) -> Patient:
    async with session_factory(study.engine)() as session:
        found = await session.scalar(select(Patient))
    assert found is not None
    return found


async def test_it_asks_the_date_of_death_in_telegram_and_ends_follow_up_on_it(study: Study) -> None:
    bot = study.bot
    await urgent_report(study)
    await study.jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Confirm infection")
    today = study.clock.now().date()
    for label in ["Today", "Bloodstream", "Bacterial", "Skip", "5 · death", "IV antimicrobial", "Done", "Yes"]:
        await bot.tap(CLINICIAN_A, label)
    assert "Date of death?" not in bot.last_text(CLINICIAN_A), "not asked before the outcome says fatal"
    await bot.tap(CLINICIAN_A, "Fatal")
    assert bot.last_text(CLINICIAN_A).startswith("Date of death? Tap a day, or type the date")
    await bot.tap(CLINICIAN_A, "Yesterday")
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    assert answered[-1].params["text"] == f"The date of death cannot be before the onset ({today.isoformat()})."
    await bot.send(CLINICIAN_A, (today + timedelta(days=1)).isoformat())
    assert bot.last_text(CLINICIAN_A) == "The date of death cannot be in the future."
    await bot.send(CLINICIAN_A, today.isoformat())
    summary = bot.last_text(CLINICIAN_A)
    assert f"• Date of death: {today.isoformat()}" in summary
    await bot.tap(CLINICIAN_A, "Save")
    await study.jobs.tick()
    patient = await _patient(study)
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, today)
    for chat in (PI_A, ADMIN):
        assert f"“died” ({today.isoformat()})" in bot.stub.texts_to(chat)[-1]


async def test_it_takes_the_date_of_death_from_the_console_form(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    onset = await baseline(study)
    fatal = {"ctcae_grade": "5", "outcome": "fatal"}
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_A))
        assert 'name="died_on"' in (await client.get("/alerts")).text
        refused = await client.post(
            f"/alerts/{escalation.id}/infection", data={"csrf_token": csrf, **record(onset, **fatal)}
        )
        assert refused.status_code == 400
        assert "Please give the date of death (grade 5)." in refused.text
        assert (await _patient(study)).status is PatientStatus.ACTIVE
        done = await client.post(
            f"/alerts/{escalation.id}/infection",
            data={"csrf_token": csrf, **record(onset, **fatal, died_on=study.clock.now().date().isoformat())},
        )
        assert done.status_code == 303
    patient = await _patient(study)
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, study.clock.now().date())


def test_it_requires_the_date_of_death_for_a_fatal_infection_on_the_command_line(cli_study: str) -> None:  # noqa: F811
    _enroll_s001()
    onset = TODAY - timedelta(days=10)
    record_args = ["infections", "record", "--study-id", "S001", "--onset", onset.isoformat(), "--site-type",
                   "bloodstream", "--pathogen", "bacterial", "--treatment", "iv_antimicrobial"]  # fmt: skip
    fatal = ["--grade", "5", "--outcome", "fatal"]
    before = counts(cli_study)
    for args, message in [
        (fatal, "date of death: give it for a grade 5 (fatal) infection"),
        ([*fatal, "--died-on", "2026-02-30"], "--died-on: '2026-02-30' is not a date in the form YYYY-MM-DD"),
        ([*fatal, "--died-on", (onset - timedelta(days=1)).isoformat()],
         f"date of death: {onset - timedelta(days=1)} is before the onset {onset}"),
        ([*fatal, "--died-on", (TODAY + timedelta(days=1)).isoformat()],
         f"date of death: {TODAY + timedelta(days=1)} is in the future"),
        (["--grade", "3", "--died-on", TODAY.isoformat()], "date of death: only for a grade 5 (fatal) infection"),
    ]:  # fmt: skip
        assert followup(*record_args, *args) == (1, "", f"error: {message}\n"), args
    assert counts(cli_study) == before

    died_on = TODAY - timedelta(days=3)
    code, out, err = followup(*record_args, *fatal, "--died-on", died_on.isoformat())
    assert (code, out, err) == (0, "infection recorded for S001; follow-up ended\n", "")
    engine = create_engine(sync_url(cli_study))
    with Session(engine) as session:
        patient = session.scalars(select(Patient)).one()
        died = session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.died")).one()
        infection = session.scalars(select(Infection)).one()
    engine.dispose()
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, died_on)
    assert died.after is not None
    assert died.after["died_on"] == died_on.isoformat()
    assert (infection.onset_date, infection.ctcae_grade) == (onset, 5)


def _death_and_notices(database_url: str) -> tuple[Patient, list[AuditEvent], list[str]]:
    engine = create_engine(sync_url(database_url))
    with Session(engine, expire_on_commit=False) as session:
        patient = session.scalars(select(Patient)).one()
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        notices = [str(message.payload["text"]) for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == PI_CHAT).order_by(OutboxMessage.id))]  # fmt: skip
    engine.dispose()
    return patient, events, notices


def test_corrections_that_make_an_infection_fatal_or_not_record_or_withdraw_the_death(cli_study: str) -> None:  # noqa: F811
    _enroll_s001()
    assert followup("staff", "add", "--site", "PKU", "--role", "pi", "--name", "Prof Wang")[0] == 0
    engine = create_engine(sync_url(cli_study))
    with Session(engine) as session:
        session.execute(update(Staff).values(telegram_user_id=PI_CHAT))
        session.commit()
    engine.dispose()
    onset, died_on = TODAY - timedelta(days=10), TODAY - timedelta(days=3)
    fatal = ["--grade", "5", "--outcome", "fatal"]
    code, out, err = followup(
        "infections", "record", "--study-id", "S001", "--onset", onset.isoformat(), "--site-type", "bloodstream",
        "--pathogen", "bacterial", "--treatment", "iv_antimicrobial", *fatal, "--died-on", died_on.isoformat(),
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert _death_and_notices(cli_study)[0].status is PatientStatus.DIED

    # Not fatal after all (the grade was entered wrongly): the death recorded with it is withdrawn, the PI told,
    # and follow-up still ends at this infection, the patient's first.
    code, out, err = followup(
        "infections", "amend", "1", "--grade", "3", "--outcome", "resolved", "--reason", "grade entered wrongly"
    )
    assert (code, err) == (0, ""), err
    assert out == (
        f"infection #1 amended; the death recorded with it ({died_on}) is withdrawn; "
        f"follow-up now ends at the infection with onset {onset}\n"
    )
    patient, events, notices = _death_and_notices(cli_study)
    assert (patient.status, patient.died_on) == (PatientStatus.INFECTED, None)
    assert patient.end_reason == f"first confirmed infection (onset {onset})"
    withdrawn = next(event for event in events if event.action == "patient.death_withdrawn")
    assert withdrawn.before is not None
    assert withdrawn.after is not None
    assert (withdrawn.before["died_on"], withdrawn.before["status"]) == (died_on.isoformat(), "died")
    assert (withdrawn.after["died_on"], withdrawn.after["reason"]) == (None, "grade entered wrongly")
    assert notices[-1].startswith("⚪ S001（PKU）：cli:"), "in the PI's language (Chinese by default)"
    assert notices[-1].endswith(
        f"更正了一条感染记录，随该记录登记的死亡（{died_on}）已撤销。请在控制台查看该患者目前的状态。"
    )

    # Made fatal again: the date of death is required, checked, and the death recorded again.
    before = counts(cli_study)
    for args, message in [
        (fatal, "date of death: give it for a grade 5 (fatal) infection"),
        ([*fatal, "--died-on", (onset - timedelta(days=1)).isoformat()],
         f"date of death: {onset - timedelta(days=1)} is before the onset {onset}"),
        (["--organism", "E. coli", "--died-on", died_on.isoformat()],
         "date of death: only when the amendment makes the infection fatal (grade 5)"),
    ]:  # fmt: skip
        assert followup("infections", "amend", "1", *args, "--reason", "fatal") == (1, "", f"error: {message}\n")
    assert counts(cli_study) == before
    code, out, err = followup("infections", "amend", "1", *fatal, "--died-on", died_on.isoformat(), "--reason", "x")
    assert (code, out, err) == (0, f"infection #1 amended; follow-up ended: died on {died_on}\n", "")
    patient, events, notices = _death_and_notices(cli_study)
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, died_on)
    assert "致死性感染" in notices[-1], "the PI is told of the death again"
    died = [event for event in events if event.action == "patient.died"][-1]
    assert died.after is not None
    assert died.after["reason"] == "x", "the death carries the amendment's reason"

    # Voided (entered for the wrong patient): no death, no infection, follow-up reopens.
    code, out, err = followup("infections", "void", "1", "--reason", "wrong patient")
    assert (code, err) == (0, ""), err
    assert out.startswith(f"infection #1 void; the death recorded with it ({died_on}) is withdrawn; follow-up reopened")
    patient, _events, notices = _death_and_notices(cli_study)
    assert (patient.status, patient.died_on, patient.end_reason) == (PatientStatus.ENROLLED, None, None)
    assert "已撤销" in notices[-1]


def test_a_death_recorded_on_its_own_stands_when_an_infection_is_corrected_or_voided(cli_study: str) -> None:  # noqa: F811
    _enroll_s001()
    onset = TODAY - timedelta(days=10)
    assert followup(
        "infections", "record", "--study-id", "S001", "--onset", onset.isoformat(), "--site-type", "urinary",
        "--pathogen", "bacterial", "--grade", "2", "--treatment", "oral_antimicrobial",
    )[0] == 0  # fmt: skip
    died = followup("patients", "died", "S001", "--date", TODAY.isoformat(), "--cause", "stroke")
    assert died[0] == 0, died
    code, out, err = followup("infections", "amend", "1", "--grade", "5", "--outcome", "fatal", "--reason", "x")
    assert (code, out, err) == (0, "infection #1 amended\n", ""), "the death is recorded already"
    code, out, err = followup("infections", "void", "1", "--reason", "wrong patient")
    assert (code, out, err) == (0, "infection #1 void\n", "")
    patient = _death_and_notices(cli_study)[0]
    assert (patient.status, patient.died_on, patient.end_reason) == (PatientStatus.DIED, TODAY, "died: stroke")
