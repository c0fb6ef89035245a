"""Telegram's limits as send slots: a global rate (default 25/s) and at most one message a second per chat.

`reserve` hands out the earliest instant a message may go; the caller sleeps until then. A 429 pauses all
sending until its retry_after has passed, exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock


class RateLimiter:
    def __init__(self, *, clock: Clock, per_second: float, per_chat_interval: timedelta = timedelta(seconds=1)):
        self._clock = clock
        self.per_second = per_second
        self._spacing = timedelta(seconds=1 / per_second)
        self._per_chat = per_chat_interval
        self._next_global: datetime | None = None
        self._next_for_chat: dict[int, datetime] = {}
        self._paused_until: datetime | None = None

    def next_slot(self, chat_id: int) -> datetime:
        """The instant this chat's next message could be sent; nothing is taken."""
        return self._earliest(chat_id, self._clock.now())

    def reserve(self, chat_id: int, *, planned: datetime | None = None) -> datetime:
        """The instant this chat's next message may be sent; the slot is taken.

        `planned` is what `next_slot` said before the caller waited for it: a wait that woke a little late then
        does not push every later slot back (at most one spacing is caught up)."""
        now = self._clock.now()
        slot = self._earliest(chat_id, now if planned is None else max(planned, now - self._spacing))
        self._next_global = slot + self._spacing
        # a chat's next message is a full interval after this one really goes: the catch-up is for the global
        # rate only, or two messages to one chat could reach Telegram less than a second apart (a 429)
        self._next_for_chat[chat_id] = max(slot, now) + self._per_chat
        if len(self._next_for_chat) > 50_000:
            self._forget_old(now)
        return slot

    def _earliest(self, chat_id: int, floor: datetime) -> datetime:
        candidates = [floor, self._next_global or floor, self._next_for_chat.get(chat_id, floor)]
        if self._paused_until is not None:
            candidates.append(self._paused_until)
        return max(candidates)

    def pause(self, retry_after: timedelta) -> datetime:
        """Telegram said 429: send nothing before now + retry_after."""
        until = self._clock.now() + retry_after
        self._paused_until = max(until, self._paused_until or until)
        return self._paused_until

    def _forget_old(self, now: datetime) -> None:
        self._next_for_chat = {chat: slot for chat, slot in self._next_for_chat.items() if slot > now}
