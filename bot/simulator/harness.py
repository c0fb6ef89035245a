"""The real Application, polling the loopback Bot API, with a way to wait until an update is fully handled.

Used by the end-to-end tests, the demo and the benchmarks. Nothing here sleeps: waiting is on events.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update

from bot.app import BotApplication
from bot.simulator.bot_api import BotApiStub

PROCESS_TIMEOUT = 10.0


class Harness:
    def __init__(self, stub: BotApiStub, application: BotApplication) -> None:
        self.stub = stub
        self.application = application
        self._done: Counter[int] = Counter()  # how many times each update id went through the Application
        self._changed = asyncio.Condition()
        original = application.process_update

        async def process_and_mark(update: object) -> None:
            try:
                await original(update)
            finally:
                if isinstance(update, Update):
                    async with self._changed:
                        self._done[update.update_id] += 1
                        self._changed.notify_all()

        application.process_update = process_and_mark  # type: ignore[method-assign]

    async def handled(self, update_id: int, times: int = 1) -> None:
        """Wait until the Application has processed this update `times` times (redeliveries count)."""
        async with asyncio.timeout(PROCESS_TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: self._done[update_id] >= times)

    async def send(self, chat_id: int, text: str, **extra: Any) -> None:
        """A person sends a message; returns once the bot has finished handling it."""
        await self.handled(self.stub.user_sends(chat_id, text, **extra))

    async def tap(self, chat_id: int, label: str) -> None:
        """A person taps the newest button whose label contains `label`."""
        message_id, data = self.stub.find_button(chat_id, label)
        await self.handled(self.stub.user_presses(chat_id, message_id, data))

    async def tap_data(self, chat_id: int, message_id: int, data: str) -> None:
        await self.handled(self.stub.user_presses(chat_id, message_id, data))

    def last_text(self, chat_id: int) -> str:
        return self.stub.screen(chat_id)[-1].text


@asynccontextmanager
async def running(stub: BotApiStub, application: BotApplication) -> AsyncIterator[Harness]:
    """Start polling; stop cleanly on exit."""
    harness = Harness(stub, application)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1, drop_pending_updates=False)
        try:
            yield harness
        finally:
            await application.updater.stop()
            await application.stop()
