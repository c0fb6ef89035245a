"""One chat's updates are handled in the order they came; other chats do not wait for them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.update_processor import ChatOrderedUpdateProcessor


def text_update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime(2026, 3, 2, tzinfo=UTC), chat, text="hi"))


async def test_it_keeps_one_chats_updates_in_order_while_other_chats_go_ahead() -> None:
    processor = ChatOrderedUpdateProcessor(active=4)
    events: list[str] = []
    first_may_finish = asyncio.Event()

    async def handle(name: str, gate: asyncio.Event | None = None) -> None:
        events.append(f"start {name}")
        if gate is not None:
            await gate.wait()
        events.append(f"end {name}")

    async with processor:
        first = asyncio.create_task(processor.process_update(text_update(1, 100), handle("A1", first_may_finish)))
        second = asyncio.create_task(processor.process_update(text_update(2, 100), handle("A2")))
        other = asyncio.create_task(processor.process_update(text_update(3, 200), handle("B1")))
        await other  # chat 200 is handled while chat 100's first update is still running
        assert events == ["start A1", "start B1", "end B1"]
        first_may_finish.set()
        await asyncio.gather(first, second)
    assert events[3:] == ["end A1", "start A2", "end A2"]
    assert processor._turns == {}  # nothing kept for chats with nothing pending


async def test_it_runs_no_more_than_the_active_limit_at_once() -> None:
    processor = ChatOrderedUpdateProcessor(active=2)
    running: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def handle(update_id: int) -> None:
        running.append(update_id)
        started.set()
        await release.wait()
        running.remove(update_id)

    async with processor:
        tasks = [asyncio.create_task(processor.process_update(text_update(n, 300 + n), handle(n))) for n in range(3)]
        await started.wait()  # every task has had its turn to start by now
        assert running == [0, 1]
        release.set()
        await asyncio.gather(*tasks)
    assert running == []
