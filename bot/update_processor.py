"""Updates from different chats are handled at the same time; one chat's updates one after another, in order.

With python-telegram-bot's default (one update at a time) every patient waits for every other patient's Bot API
round trips and database commits. Handling all updates at once would let two taps of one patient overtake each
other. This processor does what a person expects: their own taps in order, nobody waiting for anyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

PENDING_UPDATES = 256  # updates accepted from Telegram and not yet finished (python-telegram-bot's bound)
# Updates handled at once; the rest wait for their turn. A tap takes a write and two Bot API calls at once:
# with 100-300 ms to Telegram, eight at once handle 25-80 updates a second, at or above the ~30 messages a
# second Telegram takes from a bot. More at once only adds work to a busy process: on PostgreSQL, 32 at once
# handled fewer updates a second than eight (docs/benchmarks.md (a)).
ACTIVE_UPDATES = 8


class _ChatTurn:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # asyncio locks wake waiters first come, first served: the chat's order
        self.waiting = 0


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, *, pending: int = PENDING_UPDATES, active: int = ACTIVE_UPDATES) -> None:
        super().__init__(max_concurrent_updates=pending)
        self._active = asyncio.BoundedSemaphore(active)
        self._turns: dict[int, _ChatTurn] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._active:
                await coroutine
            return
        turn = self._turns.setdefault(chat.id, _ChatTurn())
        turn.waiting += 1
        try:
            async with turn.lock, self._active:  # a chat waiting for its own turn holds no active slot
                await coroutine
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:
                del self._turns[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: python-telegram-bot waits for the updates in progress."""
