"""A patient's status with a reason: stop contact (still followed up at clinic) or withdraw consent, reinstate,
died, lost to follow-up; /stop in Telegram asks which of the two the patient means."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory, sync_url
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from models import AuditEvent, ContactStatus, OutboxMessage, Patient, PatientStatus, ScheduledContact, StaffRole
from tests.bot_fixtures import enrolled
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_patient_bot import CHAT, onboard, staff_invite

TODAY = date.today()


def _enroll(study_id: str = "S001") -> None:
    on = (TODAY - timedelta(days=45)).isoformat()
    assert (
        followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", study_id, "--enrolled-on", on)[
            0
        ]
        == 0
    )


def _state(database_url: str) -> tuple[PatientStatus, date | None, str | None, dict[ContactStatus, int]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        status, died_on, reason = connection.execute(select(Patient.status, Patient.died_on, Patient.end_reason)).one()
        plan: dict[ContactStatus, int] = {}
        for (contact_status,) in connection.execute(select(ScheduledContact.status)):
            plan[contact_status] = plan.get(contact_status, 0) + 1
    engine.dispose()
    return status, died_on, reason, plan


def _audit(database_url: str) -> list[tuple[str, dict[str, object] | None]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        found = connection.execute(
            select(AuditEvent.action, AuditEvent.after)
            .where(AuditEvent.entity_type == "patients")
            .order_by(AuditEvent.id)
        ).all()
    engine.dispose()
    return [(action, after) for action, after in found]


def test_it_stops_contact_but_keeps_the_patient_in_follow_up_then_reinstates(study: str) -> None:  # noqa: F811
    _enroll()
    code, out, err = followup(
        "patients", "withdraw", "S001", "--reason-code", "stop-contact", "--note", "too many messages"
    )
    assert code == 0, err
    assert out.startswith("S001 no longer contacted (followed up at clinic); ")
    status, _died, reason, plan = _state(study)
    assert (status, reason) == (PatientStatus.CLINIC_ONLY, "stop-contact: too many messages")
    assert ContactStatus.PLANNED not in plan
    assert followup("patients", "reinvite", "S001") == (1, "", "error: S001: follow-up has ended (clinic_only)\n")

    code, out, err = followup("patients", "reinstate", "S001", "--reason", "wants reminders again")
    assert code == 0, err
    assert out.startswith("S001 reinstated; ")
    status, _died, reason, plan = _state(study)
    assert (status, reason) == (PatientStatus.ENROLLED, None)
    assert plan[ContactStatus.PLANNED] > 20
    assert plan[ContactStatus.MISSED] >= 1, "a window that closed while withdrawn stays closed"
    actions = _audit(study)
    assert actions[-2][0] == "patient.end.clinic_only"
    assert actions[-1][0] == "patient.reinstate"
    assert actions[-1][1] is not None
    assert actions[-1][1]["reason"] == "wants reminders again"


def test_it_records_a_withdrawal_of_consent_a_death_and_a_loss(study: str) -> None:  # noqa: F811
    for study_id in ("S001", "S002", "S003"):
        _enroll(study_id)
    assert followup("patients", "withdraw", "S001", "--reason-code", "withdraw-consent")[0] == 0
    died = (TODAY - timedelta(days=3)).isoformat()
    code, out, err = followup("patients", "died", "S002", "--date", died, "--cause", "sepsis")
    assert code == 0, err
    assert out.startswith(f"death of S002 on {died} recorded; ")
    code, out, err = followup("patients", "lost", "S003", "--reason", "no answer to 5 calls")
    assert code == 0, err
    assert out.startswith("S003 lost to follow-up; ")
    engine = create_engine(sync_url(study))
    with engine.connect() as connection:
        found = {row.study_id: (row.status, row.died_on) for row in connection.execute(select(Patient))}
        died_event = connection.execute(select(AuditEvent.after).where(AuditEvent.action == "patient.died")).scalar()
    engine.dispose()
    assert found == {
        "S001": (PatientStatus.WITHDRAWN, None),
        "S002": (PatientStatus.DIED, date.fromisoformat(died)),
        "S003": (PatientStatus.LOST, None),
    }
    assert died_event == {"died_on": died, "cause": "sepsis"}


def test_it_refuses_bad_status_changes_in_one_line_and_writes_nothing(study: str) -> None:  # noqa: F811
    _enroll()
    assert followup("patients", "died", "S001", "--date", TODAY.isoformat())[0] == 0
    _enroll("S002")
    before = counts(study)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    for args, message in [
        (["withdraw", "S001", "--reason-code", "stop-contact"], "S001: follow-up has already ended (died)"),
        (["reinstate", "S001", "--reason", "error"], "S001: cannot be reinstated from died"),
        (["reinstate", "S002", "--reason", "error"], "S002: cannot be reinstated from enrolled"),
        (["reinstate", "S002", "--reason", " "], "--reason: say why (it is kept in the audit trail)"),
        (["died", "S001", "--date", TODAY.isoformat()], f"S001: a death is recorded already ({TODAY})"),
        (["died", "S002", "--date", tomorrow], f"--date: {tomorrow} is in the future"),
        (
            ["died", "S002", "--date", "2020-01-01"],
            f"--date: 2020-01-01 is before the baseline ({(TODAY - timedelta(days=45)).isoformat()})",
        ),
        (["died", "S002", "--date", "yesterday"], "--date: 'yesterday' is not a date in the form YYYY-MM-DD"),
        (["lost", "S001", "--reason", "x"], "S001: follow-up has already ended (died)"),
        (["lost", "NOBODY", "--reason", "x"], "no patient with study ID 'NOBODY'"),
    ]:
        assert followup("patients", *args) == (1, "", f"error: {message}\n"), args
    code, _, err = followup("patients", "withdraw", "S002", "--reason-code", "bored")
    assert code == 2
    assert "Invalid value for '--reason-code'" in err
    assert counts(study) == before


async def test_it_asks_in_plain_chinese_what_stop_means_and_stops_only_the_messages(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    staff_code = await staff_invite(engine, clock, StaffRole.COORDINATOR, "Ms Wang")
    await bot.send(42, f"/start {staff_code}")
    await onboard(bot, invite.code)
    await bot.send(CHAT, "/stop")
    question = bot.stub.screen(CHAT)[-1]
    assert [label for label, _data in question.buttons] == ["只停止发消息", "退出研究", "不，继续参加"]
    await bot.tap(CHAT, "只停止发消息")
    assert bot.last_text(CHAT).startswith("好的，机器人不会再给您发问题或提醒。")
    async with session_factory(engine)() as session:
        patient = await session.get_one(Patient, invite.patient.id)
        notice = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 42))
        planned = await session.scalar(
            select(ScheduledContact.id).where(ScheduledContact.status == ContactStatus.PLANNED)
        )
    assert patient.status is PatientStatus.CLINIC_ONLY
    assert planned is None
    assert notice is not None
    assert notice.payload["text"] == "S001 要求不再接收消息（/stop）：之后只在门诊随访。"
    await bot.send(CHAT, "/checkin")
    assert bot.last_text(CHAT).startswith("您已要求机器人不再发消息。")
