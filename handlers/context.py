"""What every handler is given: the Deps built once, the typed context of one update (who is writing, and their
translator), and the Application that handles each update inside its own update scope.

`bot.app` (the composition root) builds these; handlers import them from here, never from `bot.app`.
"""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, Message, Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.callbacks import Tap, decode
from bot.clock import Clock
from bot.config import Settings
from bot.db import use_session
from bot.i18n import Gettext, gettext_for, language_from_telegram
from bot.logs import log_failure
from bot.protocol import StudyProtocol
from bot.services.failed_updates import record_update_failure
from bot.services.onboarding import patient_for_chat, staff_for_user, update_and_patient
from bot.update_scope import current_scope, update_scope
from models import Patient, Staff

RETRY_DELAYS = (0.5, 2.0)  # seconds before the second and the third attempt at a failed update
WRONG_CODES_ALLOWED = 5
WRONG_CODE_WINDOW = timedelta(hours=1)


@dataclass
class Deps:
    """What handlers need besides the update. Built once, in `bot.app.build_application`."""

    settings: Settings
    protocol: StudyProtocol
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the pause before a failed update is handled again
    wrong_codes: dict[int, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """While an update is handled, its one session (see bot.update_scope); otherwise a new one."""
        scope = current_scope()
        return nullcontext(scope.session) if scope is not None else use_session(self.sessions)

    def code_attempts_left(self, chat_id: int) -> bool:
        """Five wrong codes within an hour lock a chat for the rest of that hour.

        Kept in memory only: nothing is stored about people who are not enrolled.
        """
        attempts = self.wrong_codes[chat_id]
        while attempts and attempts[0] <= self.clock.now() - WRONG_CODE_WINDOW:
            attempts.popleft()
        return len(attempts) < WRONG_CODES_ALLOWED

    def wrong_code(self, chat_id: int) -> None:
        self.wrong_codes[chat_id].append(self.clock.now())


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    """One update's context (python-telegram-bot makes one per update and passes it to every group).

    `claim` (group -2) drops an update handled before and, in the same query, finds the chat's patient;
    `patient()` and `staff()` look them up in the update's session at most once each, and `gettext` is the
    translator for whoever was found: the patient's or the staff member's language, else the language of the
    stranger's Telegram app."""

    _patient: Patient | None = None
    _patient_known = False
    _staff: Staff | None = None
    _staff_known = False
    _stranger_language: str | None = None

    @property
    def deps(self) -> Deps:
        return cast(Deps, self.application.bot_data["deps"])

    async def claim(self, update: Update) -> bool:
        """False if the update was handled before (see `bot.update_scope`). The query that tells also reads
        the chat's patient, so `patient()` asks nothing more."""
        scope = current_scope()
        assert scope is not None, "updates are handled inside an update scope"
        user = update.effective_user
        self._stranger_language = user.language_code if user else None
        chat_id = self._chat_id

        async def asking_for_the_patient() -> bool:
            assert chat_id is not None
            handled_before, self._patient = await update_and_patient(
                scope.session, update_id=update.update_id, chat_id=chat_id
            )
            self._patient_known = True
            return handled_before

        return await scope.claim(
            update.update_id, self.deps.clock.now(), None if chat_id is None else asking_for_the_patient
        )

    async def patient(self) -> Patient | None:
        """The chat's patient, whatever their status."""
        if not self._patient_known:
            chat_id = self._chat_id
            async with self.deps.session() as session:
                self._patient = None if chat_id is None else await patient_for_chat(session, chat_id=chat_id)
            self._patient_known = True
        return self._patient

    async def staff(self) -> Staff | None:
        """The active staff member with this Telegram account."""
        if not self._staff_known:
            user_id = self._user_id
            async with self.deps.session() as session:
                self._staff = None if user_id is None else await staff_for_user(session, user_id=user_id)
            self._staff_known = True
        return self._staff

    @property
    def gettext(self) -> Gettext:
        if self._patient is not None:
            return gettext_for(self._patient.language)
        if self._staff is not None:
            return gettext_for(self._staff.language)
        return gettext_for(language_from_telegram(self._stranger_language))


UpdateHandler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
TapT = TypeVar("TapT", bound=Tap)
Person = TypeVar("Person", Patient, Staff)
TapHandler = Callable[[CallbackQuery, Message, TapT, Person, BotContext], Awaitable[None]]


def on_tap(
    kind: type[TapT] | tuple[type[TapT], ...], who: Callable[[CallbackQuery, BotContext], Awaitable[Person | None]]
) -> Callable[[TapHandler[TapT, Person]], UpdateHandler]:
    """Opens a button handler: the person `who` accepts (when it refuses, it has answered the query), and a tap
    of `kind` (or of one of several kinds); data that is not of that kind (forged, or from an old version) is answered and ignored."""

    def wrap(handler: TapHandler[TapT, Person]) -> UpdateHandler:
        async def opened(update: Update, context: BotContext) -> None:
            query = update.callback_query
            if query is None or not isinstance(query.message, Message):
                return
            person = await who(query, context)
            if person is None:
                return
            tap = decode(query.data)
            if not isinstance(tap, kind):
                await query.answer()
                return
            await handler(query, query.message, tap, person, context)

        return opened

    return wrap


AnyApplication = Application[Any, Any, Any, Any, Any, Any]  # what python-telegram-bot's hooks are typed with


UpdateFailed = Callable[["BotApplication", Update], Awaitable[None]]


class BotApplication(Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[str, Any], Any]):
    """python-telegram-bot's Application; each update is handled inside its own update scope.

    An update whose handling failed (see `bot.update_scope`) is handled again after a short pause, up to
    `GIVE_UP_AFTER` failures; each failure is counted in `failed_updates`, and when it is given up the person is
    told (`on_update_failed`, registered with the handlers)."""

    on_update_failed: UpdateFailed | None = None

    async def initialize(self) -> None:
        """Once started, what start-up built (the modules, the protocol, the catalogs, the ORM's mappers) lives
        as long as the process: frozen out of the garbage collector's scans, each full collection looks only at
        what updates create."""
        await super().initialize()
        gc.freeze()

    async def process_update(self, update: object) -> None:
        deps: Deps = self.bot_data["deps"]
        for delay in (*RETRY_DELAYS, None):
            async with update_scope(deps.sessions) as scope:
                await super().process_update(update)
            if scope.failure is None or not isinstance(update, Update):
                return
            gave_up = await self._count_failure(update, scope.failure)
            if gave_up or scope.marked or delay is None:
                if self.on_update_failed is not None:
                    await self.on_update_failed(self, update)
                return
            await deps.sleep(delay)

    async def _count_failure(self, update: Update, error: BaseException) -> bool:
        """Record one failure; True once the update is given up. A failure to record it is only logged."""
        deps: Deps = self.bot_data["deps"]
        kind = next((str(kind) for kind in Update.ALL_TYPES if getattr(update, kind, None) is not None), "other")
        try:
            async with deps.session() as session:
                failed = await record_update_failure(
                    session,
                    update_id=update.update_id,
                    update_type=kind,
                    error_type=type(error).__name__,
                    now=deps.clock.now(),
                )
        except Exception as recording_error:
            log_failure(f"recording the failure of update {update.update_id}", recording_error)
            return False
        return failed.gave_up_at is not None
