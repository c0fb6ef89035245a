"""(c) The scheduler's tick and the plan's size at 100,000 patients, on SQLite and PostgreSQL;
(d) export time and peak memory for those patients (one submitted check-in each).

A tick's cost must follow what is due, not the number of patients: measured with nothing due and with a
batch due, at 1,000 and at 100,000 patients.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time as clock_time
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert, text

from bench.databases import fresh
from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import create_engine, session_factory, sync_url
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.plan import checkin_contacts, dose_contacts, monthly_anniversary
from bot.protocol import load_protocol
from bot.scheduler import Jobs
from models import Answer, Patient, QuestionnaireResponse, ScheduledContact, Site, TriageDecision

BASELINE = date(2026, 1, 5)
NOW = datetime(2026, 1, 4, 12, tzinfo=UTC)  # the day before the first baseline: nothing is due
ZONE = ZoneInfo("Asia/Shanghai")
ANSWERS = {
    "fever": "no",
    "symptoms": ["none"],
    "doctor_visit": "no",
    "infection_diagnosed": "no",
    "antimicrobials": "no",
    "hospitalized": "no",
    "positive_test": "no",
    "prednisone_mg": 7.5,
    "immunosuppressants": ["hydroxychloroquine"],
}


class _NoSend:
    async def send(self, message: object) -> object:
        raise AssertionError("nothing should be sent in this benchmark")


def _plans() -> dict[tuple[int, str], list[dict[str, object]]]:
    """Plan rows for each (baseline offset, group): patients differ only in their id."""
    protocol = load_protocol(SHIPPED_PROTOCOL)
    plans = {}
    for offset in range(30):
        baseline = BASELINE + timedelta(days=offset)
        for group in ("il2", "control"):
            planned = checkin_contacts(baseline=baseline, reminder_time=time(9), zone=ZONE, plan=protocol.checkin_plan)
            if group == "il2":
                planned += dose_contacts(
                    il2_start=baseline,
                    first_day=baseline,
                    last_day=monthly_anniversary(baseline, 24),
                    reminder_time=time(9),
                    zone=ZONE,
                    regimen=protocol.dose_regimen,
                )
            plans[offset, group] = [
                {
                    "kind": row.kind,
                    "month": row.month,
                    "cycle": row.cycle,
                    "dose_number": row.dose_number,
                    "planned_date": row.planned_date,
                    "due_at": row.due_at,
                    "window_end": row.window_end,
                    "status": "planned",
                    "next_action_at": row.due_at,
                    "reminders_sent": 0,
                    "snoozes": 0,
                    "key": row.dedupe_key(0).rsplit(":", 1)[1],
                }
                for row in planned
            ]
    return plans


def build(url: str, patients: int) -> None:
    """Write the study with Core inserts in large batches (COPY-speed is not the point; the tick is)."""
    fresh(url)
    engine = create_sync_engine(sync_url(url))
    plans = _plans()
    with engine.begin() as connection:
        connection.execute(
            insert(Site), [{"code": "PKU", "name": "PKU", "timezone": "Asia/Shanghai", "created_at": NOW}]
        )
        batch: list[dict[str, object]] = []
        for start in range(1, patients + 1, 5000):
            ids = range(start, min(start + 5000, patients + 1))
            connection.execute(
                insert(Patient),
                [
                    {
                        "id": pid,
                        "study_id": f"P{pid:06d}",
                        "site_id": 1,
                        "group": "il2" if pid % 2 else "control",
                        "status": "active",
                        "baseline_date": BASELINE + timedelta(days=pid % 30),
                        "timezone": "Asia/Shanghai",
                        "language": "zh_CN",
                        "reminder_time": time(9),
                        "telegram_chat_id": 10_000_000 + pid,
                        "consented_at": NOW,
                        "unreachable": False,
                        "created_at": NOW,
                    }
                    for pid in ids
                ],
            )
            for pid in ids:
                for row in plans[pid % 30, "il2" if pid % 2 else "control"]:
                    batch.append(
                        {
                            **{k: v for k, v in row.items() if k != "key"},
                            "patient_id": pid,
                            "dedupe_key": f"{row['kind']}:{pid}:{row['key']}",
                        }
                    )
                if len(batch) >= 50_000:
                    connection.execute(insert(ScheduledContact), batch)
                    batch = []
            connection.execute(
                insert(QuestionnaireResponse),
                [
                    {
                        "id": pid,
                        "patient_id": pid,
                        "form": "checkin",
                        "status": "submitted",
                        "current_item": None,
                        "editing": False,
                        "started_at": NOW,
                        "submitted_at": NOW,
                    }
                    for pid in ids
                ],
            )
            connection.execute(
                insert(TriageDecision),
                [
                    {"response_id": pid, "patient_id": pid, "level": "none", "reasons": [], "decided_at": NOW}
                    for pid in ids
                ],
            )
            connection.execute(
                insert(Answer),
                [
                    {"response_id": pid, "item_id": item, "value": value, "answered_at": NOW}
                    for pid in ids
                    for item, value in ANSWERS.items()
                ],
            )
        if batch:
            connection.execute(insert(ScheduledContact), batch)
    engine.dispose()


def plan_size(url: str) -> dict[str, float]:
    engine = create_sync_engine(sync_url(url))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM scheduled_contacts")).scalar_one()
        if engine.dialect.name == "postgresql":
            size = connection.execute(text("SELECT pg_total_relation_size('scheduled_contacts')")).scalar_one()
        else:
            size = Path(url.removeprefix("sqlite:///")).stat().st_size
    engine.dispose()
    return {"plan_rows": rows, "database_or_table_mb": round(size / 2**20, 1)}


async def tick_ms(url: str, moment: datetime, repeats: int = 15) -> float:
    """Median wall time of the contacts, escalations and outbox jobs at `moment` (the per-tick jobs)."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = FakeClock(moment)
    protocol = load_protocol(SHIPPED_PROTOCOL)
    dispatcher = Dispatcher(
        sessions=sessions,
        sender=_NoSend(),
        clock=clock,  # type: ignore[arg-type]
        limiter=RateLimiter(clock=clock, per_second=25),
    )
    jobs = Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=dispatcher)
    timings = []
    for _ in range(repeats):
        started = clock_time.perf_counter()
        await jobs.contacts()
        await jobs.escalations()
        async with sessions() as session:  # the outbox claim query, without sending
            from bot.delivery.outbox import next_due

            await next_due(session)
        timings.append((clock_time.perf_counter() - started) * 1000)
    await engine.dispose()
    return round(statistics.median(timings), 2)


async def due_tick(url: str) -> dict[str, float]:
    """One tick when the first doses of a thirtieth of the patients fall due: how many rows, how long, per row."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    first_il2 = BASELINE + timedelta(days=1)  # patients with id % 30 == 1 (odd ids: the IL-2 group)
    moment = datetime.combine(first_il2, time(9), tzinfo=ZONE).astimezone(UTC) + timedelta(seconds=30)
    clock = FakeClock(moment)
    dispatcher = Dispatcher(
        sessions=sessions,
        sender=_NoSend(),
        clock=clock,  # type: ignore[arg-type]
        limiter=RateLimiter(clock=clock, per_second=25),
    )
    jobs = Jobs(sessions=sessions, protocol=load_protocol(SHIPPED_PROTOCOL), clock=clock, dispatcher=dispatcher)
    started = clock_time.perf_counter()
    handled = await jobs.contacts()
    elapsed = (clock_time.perf_counter() - started) * 1000
    await engine.dispose()
    return {
        "due_rows": handled,
        "tick_ms_with_due": round(elapsed, 1),
        "ms_per_due_row": round(elapsed / handled, 3) if handled else 0.0,
    }


def export_run(url: str) -> dict[str, float]:
    """`followup export` in its own process: wall time and peak resident memory."""
    with tempfile.TemporaryDirectory() as out:
        started = clock_time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "export", "--out", out],
            check=True,
            env={**os.environ, "FOLLOWUP_DATABASE_URL": url, "FOLLOWUP_BOT_USERNAME": "bench_bot"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = clock_time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(elapsed, 1), "peak_memory_mb": round(peak_mb, 1)}


def run(patients: int, postgres_url: str | None) -> dict[str, object]:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        backends = {"sqlite": f"sqlite:///{Path(folder) / 'scale.db'}"}
        if postgres_url:
            backends["postgresql"] = postgres_url
        for name, url in backends.items():
            figures: dict[str, object] = {}
            for size in (1_000, patients):
                if name == "sqlite":
                    Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
                started = clock_time.perf_counter()
                build(url, size)
                figures[f"{size}_patients"] = {
                    "build_seconds": round(clock_time.perf_counter() - started, 1),
                    **plan_size(url),
                    "tick_ms_nothing_due": asyncio.run(tick_ms(url, NOW)),
                    **asyncio.run(due_tick(url)),
                }
            figures["export"] = export_run(url) if name == "sqlite" else "see sqlite"
            results[name] = figures
    return results
