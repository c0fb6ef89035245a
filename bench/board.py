"""The follow-up board at 100,000 patients (target: a page in 300 ms): the service for a site's staff member
(first page, overdue only, sorted by status, the last page) and the whole HTTP page through the ASGI app.

The study is `scale.build`'s, two months on: every patient has check-ins due, one in ten left open (overdue).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time as clock_time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert, text

from bench.scale import NOW, build
from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import create_engine, session_factory, sync_url
from bot.protocol import load_protocol
from bot.services.board import BoardQuery, BoardSort, follow_up_board
from bot.services.web_access import issue_sign_in_link, sign_in_path
from bot.web.app import create_app
from bot.web.deps import Console
from models import Staff

MOMENT = NOW + timedelta(days=75)  # months 1 and 2 due for everyone
SECRET = "bench-only-k3Jq9vZ2xW7mB4nR8tY1pL6sD0fH5gA2cE9uV3"


def _age(url: str) -> None:
    """Months 1-2 answered on time, except one patient in ten whose month 2 is still open; one staff member."""
    engine = create_sync_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE scheduled_contacts SET status = 'done', answered_at = due_at, next_action_at = NULL "
                "WHERE kind = 'checkin' AND month <= 2"
            )
        )
        connection.execute(
            text(
                "UPDATE scheduled_contacts SET status = 'open', answered_at = NULL "
                "WHERE kind = 'checkin' AND month = 2 AND patient_id % 10 = 0"
            )
        )
        connection.execute(
            insert(Staff),
            [{"site_id": 1, "role": "clinician", "name": "Dr Bench", "telegram_user_id": 1, "created_at": NOW}],
        )
    engine.dispose()


async def _median_ms(work: Callable[[], Awaitable[object]], repeats: int = 9) -> float:
    await work()  # warm the caches once
    timings = []
    for _ in range(repeats):
        started = clock_time.perf_counter()
        await work()
        timings.append((clock_time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


async def measure(url: str) -> dict[str, float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = FakeClock(MOMENT)
    protocol = load_protocol(SHIPPED_PROTOCOL)
    async with sessions() as session:
        staff = await session.get_one(Staff, 1)
        token = await issue_sign_in_link(session, staff_id=1, actor="bench", now=clock.now())
    months = protocol.checkin_plan.months
    figures: dict[str, float] = {}
    queries = {
        "first_page_ms": BoardQuery(),
        "overdue_only_ms": BoardQuery(overdue_only=True),
        "by_status_ms": BoardQuery(sort=BoardSort.STATUS),
        "last_page_ms": BoardQuery(page=1000),
    }
    for name, query in queries.items():

        async def board(query: BoardQuery = query) -> object:
            async with sessions() as session:
                return await follow_up_board(session, staff=staff, query=query, months=months, now=clock.now())

        figures[name] = await _median_ms(board)
    console = Console(
        base_url="https://bench.example.org",
        secret=SECRET,
        sessions=sessions,
        clock=clock,
        protocol=protocol,
        bot_username="bench_bot",
    )
    transport = httpx.ASGITransport(app=create_app(console))
    async with httpx.AsyncClient(transport=transport, base_url="https://bench.example.org") as client:
        await client.get(sign_in_path(token))

        async def page() -> object:
            response = await client.get("/")
            assert response.status_code == 200
            return response

        figures["http_page_ms"] = await _median_ms(page)
    await engine.dispose()
    return figures


def run(patients: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'board.db'}"
        started = clock_time.perf_counter()
        build(url, patients)
        _age(url)
        built = round(clock_time.perf_counter() - started, 1)
        return {"patients": patients, "build_seconds": built, "sqlite": asyncio.run(measure(url))}
