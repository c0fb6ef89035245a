"""`followup doctor`: each problem of a deployment on its own line with exit status 1; a healthy one says so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, text, update
from sqlalchemy.orm import Session

from bot.db import head_revision, sync_url
from models import FailedUpdate, Lane, OutboxMessage, OutboxStatus, Patient, PatientStatus, Site, Staff
from tests.test_cli import followup


@pytest.fixture
def database(cli_env: str) -> Iterator[Engine]:
    engine = create_engine(sync_url(cli_env))
    yield engine
    engine.dispose()


@pytest.fixture
def healthy(database: Engine) -> Engine:
    """One site with its 24-hour phone and a clinician linked in Telegram; one patient, reachable."""
    for args in (
        ["sites", "add", "PKU", "--name", "PKU", "--timezone", "Asia/Shanghai", "--phone", "+86 10 8832 5555"],
        ["staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li"],
        ["patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001"],
    ):
        code, _out, err = followup(*args)
        assert code == 0, err
    with Session(database) as session:
        session.execute(update(Staff).values(telegram_user_id=4001, linked_at=datetime.now(UTC)))
        session.execute(update(Patient).values(status=PatientStatus.ACTIVE, telegram_chat_id=5001))
        session.commit()
    return database


def outbox_row(session: Session, *, status: OutboxStatus, due: datetime, key: str) -> None:
    session.add(
        OutboxMessage(
            dedupe_key=key,
            chat_id=5001,
            method="sendMessage",
            payload={"text": "reminder"},
            status=status,
            lane=int(Lane.BULK),
            not_before=due,
            attempts=0,
            created_at=due,
        )
    )


def test_it_finds_no_problem_in_a_healthy_deployment(healthy: Engine) -> None:
    with Session(healthy) as session:
        outbox_row(session, status=OutboxStatus.PENDING, due=datetime.now(UTC), key="due-now")
        outbox_row(session, status=OutboxStatus.SENT, due=datetime.now(UTC) - timedelta(hours=1), key="sent")
        session.commit()
    assert followup("doctor") == (0, "no problems found\n", "")


def no_clinician(session: Session) -> None:
    session.execute(update(Staff).values(active=False))


def clinician_never_linked(session: Session) -> None:
    session.execute(update(Staff).values(telegram_user_id=None, linked_at=None))


def no_phone(session: Session) -> None:
    session.execute(update(Site).values(phone=None))


def given_up_update(session: Session) -> None:
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    session.add(
        FailedUpdate(
            update_id=777,
            update_type="callback_query",
            failures=3,
            last_error="OperationalError",
            first_failed_at=at,
            last_failed_at=at,
            gave_up_at=at,
        )
    )


def failing_once(session: Session) -> None:
    """Still being retried: not a problem yet."""
    at = datetime.now(UTC)
    session.add(
        FailedUpdate(
            update_id=778, update_type="message", failures=1, last_error="X", first_failed_at=at, last_failed_at=at
        )
    )


def dead_letter(session: Session) -> None:
    outbox_row(session, status=OutboxStatus.DEAD, due=datetime.now(UTC), key="dead")


def old_backlog(session: Session) -> None:
    outbox_row(session, status=OutboxStatus.PENDING, due=datetime.now(UTC) - timedelta(minutes=11), key="old")


def unreachable_patient(session: Session) -> None:
    session.execute(update(Patient).values(unreachable=True))


@pytest.mark.parametrize(
    ("make_problem", "line"),
    [
        (no_clinician, "site PKU has no linked, active clinician: an alert's first step reaches nobody there"),
        (clinician_never_linked, "site PKU has no linked, active clinician"),
        (no_phone, "site PKU has no phone number: the urgent advice cannot tell patients whom to call"),
        (
            given_up_update,
            "update 777 (callback_query) was given up after 3 failures (last: OperationalError) at "
            "2026-11-20 08:00 UTC: a person's message or tap was not handled",
        ),
        (dead_letter, "outbox: 1 dead letters (messages Telegram refused for good or that failed too often)"),
        (old_backlog, "outbox: 1 messages due for more than 10 minutes (oldest due "),
        (unreachable_patient, "patient S001 cannot be reached in Telegram (blocked the bot or left Telegram)"),
        (failing_once, None),
    ],
)
def test_it_prints_each_problem_on_its_own_line_and_exits_1(
    healthy: Engine, make_problem: Callable[[Session], None], line: str | None
) -> None:
    with Session(healthy) as session:
        make_problem(session)
        session.commit()
    code, out, err = followup("doctor")
    if line is None:
        assert (code, out) == (0, "no problems found\n")
        return
    assert (code, err) == (1, "")
    (printed,) = out.splitlines()
    assert printed.startswith(line)


def test_it_reports_a_database_behind_the_code(healthy: Engine) -> None:
    head = head_revision()
    with healthy.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        code, out, _err = followup("doctor")
    finally:
        with healthy.begin() as connection:  # PostgreSQL's test database is shared by the tests
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert code == 1
    assert out == f"database: the database is at revision 0001, not {head}: run `followup db upgrade`\n"


def test_it_explains_itself(cli_env: str) -> None:
    code, out, _err = followup("doctor", "--help")
    assert code == 0
    assert "Check the deployment" in out
