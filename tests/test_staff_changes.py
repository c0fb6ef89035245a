"""Staff who leave, come back or change: every right follows at once, the staff menu goes with the rights,
and every change is audited with its reason."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, select

from bot.db import session_factory, sync_url
from bot.services.staff_changes import deactivate_staff
from models import AuditEvent, Staff, StaffRole
from tests.escalation_study import CLINICIAN_A, Study, urgent_report
from tests.test_cli import LINK, counts, followup
from tests.test_cli import study as cli_study  # noqa: F401 - the CLI's study fixture


async def _staff_id(study: Study, chat: int) -> int:
    async with session_factory(study.engine)() as session:
        found = await session.scalar(select(Staff.id).where(Staff.telegram_user_id == chat))
        assert found is not None
        return found


async def test_it_takes_every_right_and_the_staff_menu_away_at_once(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await urgent_report(study)
    await jobs.tick()
    assert len(study.alerts_to(CLINICIAN_A)) == 1
    async with session_factory(study.engine)() as session:
        await deactivate_staff(
            session,
            staff_id=await _staff_id(study, CLINICIAN_A),
            reason="left the hospital",
            actor="cli:coordinator",
            now=study.clock.now(),
        )
    await jobs.tick()
    assert bot.stub.texts_to(CLINICIAN_A)[-1].startswith(
        "Your access to the follow-up study's staff functions has ended."
    )
    menu_resets = [call for call in bot.stub.calls if call.method == "deleteMyCommands"]
    assert [call.params["scope"] for call in menu_resets] == [{"type": "chat", "chat_id": CLINICIAN_A}]

    await bot.tap(CLINICIAN_A, "Acknowledge")
    assert (await study.escalation()).acknowledged_at is None
    await bot.send(CLINICIAN_A, "/alerts", language="en")
    assert "S001" not in bot.last_text(CLINICIAN_A)
    async with session_factory(study.engine)() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.deactivate"))
    assert event is not None
    assert event.before == {"active": True}
    assert event.after == {"active": False, "reason": "left the hospital"}


def test_it_deactivates_reactivates_and_updates_staff_from_the_cli(cli_study: str) -> None:  # noqa: F811
    assert followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")[0] == 0
    assert followup("staff", "deactivate", "1", "--reason", "on leave") == (0, "staff #1 (Dr Li) deactivated\n", "")
    assert re.search(r"│\s+Dr Li\s+│\s+deactivated", followup("staff", "list")[1])
    code, out, err = followup("staff", "reactivate", "1", "--reason", "back from leave")
    assert code == 0, err
    assert out.startswith("staff #1 (Dr Li) reactivated; invite link, valid once, valid until ")
    assert LINK.match(out.splitlines()[-1])
    code, out, err = followup("staff", "update", "1", "--role", "pi", "--name", "Prof Li", "--reason", "promoted")
    assert (code, out, err) == (0, "staff #1 (Prof Li, pi) updated\n", "")
    engine = create_engine(sync_url(cli_study))
    with engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.before, AuditEvent.after).where(AuditEvent.entity_type == "staff")
        ).all()
        role = connection.scalar(select(Staff.role))
    engine.dispose()
    assert role is StaffRole.PI
    assert [action for action, _before, _after in events] == [
        "staff.add",
        "staff.deactivate",
        "staff.reactivate",
        "staff.update",
    ]
    assert events[-1][1] == {"role": "clinician", "name": "Dr Li"}
    assert events[-1][2] == {"role": "pi", "name": "Prof Li", "reason": "promoted"}


def test_it_refuses_bad_staff_changes_in_one_line_and_writes_nothing(cli_study: str) -> None:  # noqa: F811
    assert followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")[0] == 0
    before = counts(cli_study)
    for args, message in [
        (["deactivate", "9", "--reason", "x"], "error: no staff member #9"),
        (["deactivate", "1", "--reason", " \u200b "], "error: --reason: say why (it is kept in the audit trail)"),
        (["reactivate", "1", "--reason", "x"], "error: staff #1 is active already"),
        (["update", "1", "--reason", "x"], "error: nothing to change: give --role, --name or --site"),
        (["update", "1", "--site", "XYZ", "--reason", "x"], "error: no site with code 'XYZ'"),
        (["update", "1", "--name", " ", "--reason", "x"], "error: staff name: must not be empty"),
    ]:
        assert followup("staff", *args) == (1, "", message + "\n"), args
    assert counts(cli_study) == before
