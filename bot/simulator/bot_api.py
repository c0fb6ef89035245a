"""A loopback Telegram Bot API: records every call, serves updates from simulated users, injects faults, and
refuses what Telegram refuses (texts, captions and callback data over its limits, a second answer to a query).

Point python-telegram-bot at it with `base_url=stub.base_url` (FOLLOWUP_TELEGRAM_API_URL). It listens only on
127.0.0.1 and answers the methods the bot uses with objects Telegram would return.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.simulator.http import parameters, read_request, response_bytes
from bot.telegram_limits import CALLBACK_DATA_LIMIT, CAPTION_LIMIT, TEXT_LIMIT, telegram_length

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Follow-up", "username": "sle_followup_bot"}
MESSAGE_METHODS = {"sendMessage", "sendDocument", "sendPhoto"}


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class ChatMessage:
    """A message the bot sent, as it looks now (after edits)."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, callback data)


def _buttons(markup: object) -> list[tuple[str, str]]:
    if not isinstance(markup, dict):
        return []
    return [
        (str(button.get("text")), str(button.get("callback_data")))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def refusal(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's 400 description for a call it refuses because of its size limits, else None."""
    text = params.get("text")
    if method in ("sendMessage", "editMessageText"):
        if not str(text or "").strip():
            return "Bad Request: message text is empty"
        if telegram_length(str(text)) > TEXT_LIMIT:
            return "Bad Request: message is too long" if method == "sendMessage" else "Bad Request: MESSAGE_TOO_LONG"
    caption = params.get("caption")
    if caption is not None and telegram_length(str(caption)) > CAPTION_LIMIT:
        return "Bad Request: message caption is too long"
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for data in (button["callback_data"] for row in rows for button in row if "callback_data" in button):
        if not 1 <= len(str(data).encode("utf-8")) <= CALLBACK_DATA_LIMIT:
            return "Bad Request: BUTTON_DATA_INVALID"
    return None


@dataclass
class Fault:
    """An error the stub answers instead of the real result, `remaining` more times."""

    status: int
    description: str
    remaining: int = 1
    retry_after: int | None = None
    chat_id: int | None = None


@dataclass
class BotApiStub:
    token: str = "123456789:TEST-token-for-the-loopback-stub_0"  # noqa: S105 - not a secret
    now: float = 1_800_000_000.0  # Unix time stamped on messages; tests may move it
    calls: list[ApiCall] = field(default_factory=list)
    _updates: deque[dict[str, Any]] = field(default_factory=deque)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _blocked: set[int] = field(default_factory=set)
    messages: dict[tuple[int, int], ChatMessage] = field(default_factory=dict)
    _by_chat: dict[int, list[ChatMessage]] = field(default_factory=dict)
    transcript: list[tuple[int, str, str]] = field(default_factory=list)  # (chat, "user" | "bot", text)
    _flaky: dict[str, tuple[float, random.Random, int]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    last_user_message_id: int = 0
    _stalled: dict[str, int] = field(default_factory=dict)
    limits: tuple[float, float] | None = None  # (messages per second overall, per chat), like Telegram
    _recent: deque[float] = field(default_factory=deque)
    _last_to_chat: dict[int, float] = field(default_factory=dict)
    rate_limited: int = 0  # how many 429s the limits produced
    _answered: set[str] = field(default_factory=set)  # callback queries answered (Telegram takes one answer)
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _new_call: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> BotApiStub:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and end every open connection (keep-alive or stalled) before returning."""
        if self._server is None:
            return
        self._server.close()
        self._new_update.set()
        for connection in list(self._connections):
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> BotApiStub:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # -- what simulated users do

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._new_update.set()
        return update_id

    def user_sends(self, chat_id: int, text: str, *, chat_type: str = "private", language: str = "zh-hans") -> int:
        """A person types a message (or a /command) in a chat; returns the update id."""
        self.transcript.append((chat_id, "user", text))
        self.last_user_message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": self.last_user_message_id,
            "date": int(self.now),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": chat_id, "is_bot": False, "first_name": "User", "language_code": language},
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push("message", message)

    def user_sends_sticker(self, chat_id: int) -> int:
        """A person sends a sticker (no text at all)."""
        sticker = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": "🤒",
        }
        message = {
            "message_id": next(self._message_ids),
            "date": int(self.now),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "User"},
            "sticker": sticker,
        }
        return self._push("message", message)

    def user_sends_voice(self, chat_id: int, seconds: int = 5) -> int:
        """A person sends a voice message (nothing the bot can read)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(self.now),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "User"},
            "voice": {"file_id": "voice1", "file_unique_id": "v1", "duration": seconds, "mime_type": "audio/ogg"},
        }
        return self._push("message", message)

    def user_presses(self, chat_id: int, message_id: int, data: str) -> int:
        """A person taps a button under one of the bot's messages (sent as it looks now, like Telegram)."""
        shown = self.messages.get((chat_id, message_id))
        label = next((text for text, value in shown.buttons if value == data), data) if shown else data
        self.transcript.append((chat_id, "user", f"[{label}]"))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(self.now),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": shown.text if shown else "…",
        }
        if shown and shown.buttons:
            message["reply_markup"] = {
                "inline_keyboard": [[{"text": text, "callback_data": value}] for text, value in shown.buttons]
            }
        query = {
            "id": f"cq{next(self._update_ids)}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "User"},
            "chat_instance": str(chat_id),
            "data": data,
            "message": message,
        }
        return self._push("callback_query", query)

    def user_edits(self, chat_id: int, message_id: int, text: str) -> int:
        """A person edits a message they sent earlier."""
        edited = {
            "message_id": message_id,
            "date": int(self.now),
            "edit_date": int(self.now),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "User"},
            "text": text,
        }
        return self._push("edited_message", edited)

    def stall(self, method: str, *, times: int = 1) -> None:
        """Never answer the next `times` calls of `method`: the client times out (a network timeout)."""
        self._stalled[method] = self._stalled.get(method, 0) + times

    def take_updates(self) -> list[dict[str, Any]]:
        """Queued updates, removed from the queue: for delivering them to a webhook instead."""
        taken = list(self._updates)
        self._updates.clear()
        return taken

    def block(self, chat_id: int) -> int:
        """The person blocks the bot: Telegram tells the bot (an update), and every later message to them is
        refused with 403. Returns the update id."""
        self._blocked.add(chat_id)
        return self._membership(chat_id, old="member", new="kicked")

    def unblock(self, chat_id: int) -> int:
        """The person unblocks the bot: Telegram tells the bot, and messages reach them again."""
        self._blocked.discard(chat_id)
        return self._membership(chat_id, old="kicked", new="member")

    def _membership(self, chat_id: int, *, old: str, new: str) -> int:
        person = {"id": chat_id, "is_bot": False, "first_name": "User"}

        def member(status: str) -> dict[str, Any]:
            return {"user": BOT_USER, "status": status, **({"until_date": 0} if status == "kicked" else {})}

        change = {
            "chat": {"id": chat_id, "type": "private", "first_name": "User"},
            "from": person,
            "date": int(self.now),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._push("my_chat_member", change)

    # -- faults and assertions

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        default = {
            429: "Too Many Requests: retry later",
            500: "Internal Server Error",
            400: "Bad Request: chat not found",
        }
        self._faults.setdefault(method, []).append(
            Fault(status, description or default.get(status, "Error"), times, retry_after, chat_id)
        )

    def heal(self) -> None:
        """Telegram works again: every injected fault and flaky method is forgotten."""
        self._faults.clear()
        self._flaky.clear()

    async def wait_for_calls(self, method: str, count: int = 1) -> list[ApiCall]:
        """Wait until `count` calls of `method` have arrived (woken by each call, never by polling).

        Callers bound the wait with `asyncio.timeout`.
        """
        while len(found := [call for call in self.calls if call.method == method]) < count:
            self._new_call.clear()
            await self._new_call.wait()
        return found

    def screen(self, chat_id: int) -> list[ChatMessage]:
        """The bot's messages in one chat, oldest first, as the person sees them now."""
        return self._by_chat.get(chat_id, [])

    def find_button(self, chat_id: int, label: str) -> tuple[int, str]:
        """The newest message in the chat with a button whose label contains `label`: (message id, data)."""
        for message in reversed(self.screen(chat_id)):
            for text, data in message.buttons:
                if label in text:
                    return message.message_id, data
        raise LookupError(f"no button {label!r} in chat {chat_id}")

    def enforce_limits(self, *, per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Answer 429 (retry_after 1) like Telegram when sending faster than these rates (real time)."""
        self.limits = (per_second, per_chat_per_second)

    def _over_limit(self, chat_id: object) -> bool:
        if self.limits is None or not isinstance(chat_id, int):
            return False
        per_second, per_chat = self.limits
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1:
            self._recent.popleft()
        too_soon = now - self._last_to_chat.get(chat_id, -1e9) < 1 / per_chat
        if len(self._recent) >= per_second or too_soon:
            self.rate_limited += 1
            return True
        self._recent.append(now)
        self._last_to_chat[chat_id] = now
        return False

    def flaky(self, method: str, rate: float, *, seed: int = 0, status: int = 500) -> None:
        """Fail a random share of the calls to `method` (transient errors), reproducibly."""
        self._flaky[method] = (rate, random.Random(seed), status)  # noqa: S311 - fault injection, not crypto

    def sent_to(self, chat_id: int) -> list[ApiCall]:
        return [call for call in self.calls if call.method in MESSAGE_METHODS and call.params.get("chat_id") == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [str(call.params.get("text", "")) for call in self.sent_to(chat_id)]

    # -- the server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = asyncio.current_task()
        assert connection is not None
        self._connections.add(connection)
        try:
            while (request := await read_request(reader)) is not None:
                status, payload = await self._answer(request.path, parameters(request))
                writer.write(response_bytes(status, payload))
                await writer.drain()
        except (ConnectionError, ValueError):
            return  # the client went away or did not speak HTTP: drop the connection
        except asyncio.CancelledError:
            return  # the stub is stopping: end quietly (asyncio's stream callback expects a result)
        finally:
            self._connections.discard(connection)
            writer.close()

    async def _answer(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        method = path.removeprefix(prefix).split("?")[0]
        if method != "getUpdates":
            self.calls.append(ApiCall(method, params))
            self._new_call.set()
        if self._stalled.get(method):
            self._stalled[method] -= 1
            await asyncio.Event().wait()  # hold the request open until the client gives up
        fault = self._take_fault(method, params.get("chat_id")) or self._random_fault(method)
        if fault is not None:
            body: dict[str, Any] = {"ok": False, "error_code": fault.status, "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, body
        if method in MESSAGE_METHODS and self._over_limit(params.get("chat_id")):
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        if method in MESSAGE_METHODS and params.get("chat_id") in self._blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        refused = refusal(method, params) or self._second_answer(method, params)
        if refused is not None:
            return 400, {"ok": False, "error_code": 400, "description": refused}
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": f"Not Found: method {method}"}
        return 200, {"ok": True, "result": await handler(params)}

    def _second_answer(self, method: str, params: dict[str, Any]) -> str | None:
        if method != "answerCallbackQuery":
            return None
        query_id = str(params.get("callback_query_id"))
        if query_id in self._answered:
            return "Bad Request: query is too old and response timeout expired or query ID is invalid"
        self._answered.add(query_id)
        return None

    def _random_fault(self, method: str) -> Fault | None:
        if method not in self._flaky:
            return None
        rate, rng, status = self._flaky[method]
        return Fault(status, "Internal Server Error") if rng.random() < rate else None

    def _take_fault(self, method: str, chat_id: object) -> Fault | None:
        for fault in self._faults.get(method, []):
            if fault.remaining > 0 and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                return fault
        return None

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        chat_id = int(params["chat_id"])
        self.transcript.append((chat_id, "bot", str(params.get("text") or params.get("caption") or "")))
        shown = ChatMessage(
            chat_id,
            message_id,
            str(params.get("text") or params.get("caption") or ""),
            _buttons(params.get("reply_markup")),
        )
        self.messages[chat_id, message_id] = shown
        self._by_chat.setdefault(chat_id, []).append(shown)
        return {
            "message_id": message_id,
            "date": int(self.now),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            **content,
        }

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()
        if not self._updates:
            self._new_update.clear()
            timeout = float(params.get("timeout") or 0)
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(timeout, 1.0))
            except TimeoutError:
                return []
        limit = int(params.get("limit") or 100)
        return list(itertools.islice(self._updates, limit))

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, text=str(params.get("text", "")))

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document") or {}
        name = document.get("filename", "file") if isinstance(document, dict) else "file"
        return self._message(params, document={"file_id": f"doc{self.port}", "file_unique_id": "d", "file_name": name})

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        size = {"file_id": f"photo{self.port}", "file_unique_id": "p", "width": 1, "height": 1}
        return self._message(params, photo=[size])

    def _edited(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = {"id": params["chat_id"], "type": "private"}
        shown = self.messages.get((int(params["chat_id"]), int(params.get("message_id", 0))))
        if shown is not None:
            if "text" in content:
                shown.text = content["text"]
            shown.buttons = _buttons(params.get("reply_markup"))
        return {
            "message_id": int(params.get("message_id", 0)),
            "date": int(self.now),
            "chat": chat,
            **content,
        }

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edited(params, text=str(params.get("text", "")))

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edited(params)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True
