"""Open alerts in the console: acknowledged and resolved through the same services as in Telegram."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.db import session_factory
from models import AuditEvent, EscalationStatus
from tests.console_fixtures import console_client, signed_in, staff_with
from tests.escalation_study import ADMIN, CLINICIAN_A, CLINICIAN_B, COORDINATOR_A, PATIENT, PI_A, Study, urgent_report


async def test_it_acknowledges_from_the_console_as_a_tap_in_telegram_does(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    study.clock.advance(timedelta(minutes=30))
    await study.jobs.tick()
    assert len(study.alerts_to(PI_A)) == 1
    escalation = await study.escalation()
    clinician = await staff_with(study.engine, CLINICIAN_A)
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, clinician)
        listed = (await client.get("/alerts")).text
        assert re.search(r"🚨 URGENT · <a href=\"/patients/\d+\">S001</a> · PKU", listed)
        assert "Reasons: temperature 39.5 °C or higher; dyspnea" in listed
        assert "Reported 30 minutes ago" in listed
        refused = await client.post(f"/alerts/{escalation.id}/acknowledge")
        assert refused.status_code == 403
        assert (await study.escalation()).status is EscalationStatus.OPEN
        done = await client.post(f"/alerts/{escalation.id}/acknowledge", data={"csrf_token": csrf})
        assert (done.status_code, done.headers["location"]) == (303, "/alerts?done=acknowledged")
        shown = (await client.get(done.headers["location"])).text
        assert "Acknowledged. The patient has been told" in shown
        assert "Acknowledged by Dr Li (clinician)" in shown
        again = await client.post(f"/alerts/{escalation.id}/acknowledge", data={"csrf_token": csrf})
        assert again.headers["location"] == "/alerts?done=already"
    await study.jobs.tick()
    assert all("Acknowledged by Dr Li (clinician)" in text for text in study.alerts_to(PI_A))
    assert study.bot.stub.texts_to(PATIENT)[-1] == "研究团队已经看到您的报告，如有需要会联系您。"
    assert (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED
    async with session_factory(study.engine)() as session:
        actors = list(
            await session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "escalation.acknowledge"))
        )
    assert actors == [f"staff:{clinician.id}"]


async def test_it_keeps_another_sites_alert_out_like_a_missing_one(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, CLINICIAN_B))
        assert "No open alerts." in (await client.get("/alerts")).text
        for action in ("acknowledge", "dismiss"):
            other = await client.post(f"/alerts/{escalation.id}/{action}", data={"csrf_token": csrf, "reason": "x"})
            missing = await client.post(f"/alerts/999999/{action}", data={"csrf_token": csrf, "reason": "x"})
            assert other.status_code == missing.status_code == 404
            assert other.text == missing.text
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, COORDINATOR_A))
        listed = (await client.get("/alerts")).text
        assert "S001" in listed
        assert "/acknowledge" not in listed
        assert (await client.post(f"/alerts/{escalation.id}/acknowledge", data={"csrf_token": csrf})).status_code == 403
    async with console_client(study.engine, study.clock) as client:
        await signed_in(client, study.engine, study.clock, await staff_with(study.engine, ADMIN))
        assert f'action="/alerts/{escalation.id}/acknowledge"' in (await client.get("/alerts")).text
    assert (await study.escalation()).status is EscalationStatus.OPEN


async def test_it_records_not_an_infection_only_with_a_reason(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    escalation = await study.escalation()
    async with console_client(study.engine, study.clock) as client:
        csrf = await signed_in(client, study.engine, study.clock, await staff_with(study.engine, PI_A))
        for code, reason in (("other", ""), ("other", "   "), ("other", "\u200b\u200b"), ("flu", "lupus flare")):
            refused = await client.post(
                f"/alerts/{escalation.id}/dismiss", data={"csrf_token": csrf, "code": code, "reason": reason}
            )
            assert refused.status_code == 400
            assert "Please type the reason in words." in refused.text
        assert (await study.escalation()).status is EscalationStatus.OPEN
        done = await client.post(
            f"/alerts/{escalation.id}/dismiss",
            data={"csrf_token": csrf, "code": "other", "reason": "lupus flare, cultures negative"},
        )
        assert done.headers["location"] == "/alerts?done=dismissed"
        after = (await client.get("/alerts?done=dismissed")).text
        assert "Recorded: not an infection." in after
        assert "No open alerts." in after
    dismissed = await study.escalation()
    assert (dismissed.status, dismissed.resolution_reason) == (
        EscalationStatus.DISMISSED,
        "lupus flare, cultures negative",
    )
