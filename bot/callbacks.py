"""Every button's callback data: built, parsed and matched in one place.

Each kind of tap is a small frozen dataclass with a wire prefix; `data()` builds the string Telegram carries
(at most 64 bytes), `decode()` turns any string back into the typed tap or None (malformed, forged, from an
unknown version: never an exception), and `pattern()` is the regular expression a handler is registered with.
The wire strings are the ones sent so far, so buttons on messages already delivered keep working.

`Button` and `Rows` are what services return to show buttons; only the handlers and the outbox's sender turn
them into Telegram keyboards. No telegram import here, so services can use it.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import time
from typing import ClassVar

from bot.i18n import languages
from bot.plan import parse_clock_time
from bot.services.doses import DoseAnswer
from models import DismissalReason

DATA_LIMIT = 64  # bytes: Telegram's limit on callback_data
RECORD_ID_MAX = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL
PAGE_MAX = 9999
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # an item, field or option code
VALUE = re.compile(r"[A-Za-z0-9_.:-]{1,32}")  # an option code or a one-tap number


def record_id(text: str) -> int | None:
    """A row id: ASCII digits within the database's range, else None (never an error)."""
    if not text.isascii() or not text.isdecimal() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= RECORD_ID_MAX else None


def page_number(text: str) -> int | None:
    if not text.isascii() or not text.isdecimal() or len(text) > 4:
        return None
    return int(text)


def _name(text: str) -> str | None:
    return text if NAME.fullmatch(text) else None


def _value(text: str) -> str | None:
    return text if VALUE.fullmatch(text) else None


KINDS: dict[str, type[Tap]] = {}  # every kind of tap by its prefix


class Tap(ABC):
    """A kind of tap: `prefix` is its first field on the wire. A class that sets it is a kind (in KINDS)."""

    prefix: ClassVar[str]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "prefix" in cls.__dict__:
            KINDS[cls.prefix] = cls

    @abstractmethod
    def fields(self) -> tuple[str, ...]:
        """The fields after the prefix, as sent."""

    def data(self) -> str:
        data = "|".join((self.prefix, *self.fields()))
        if len(data.encode()) > DATA_LIMIT:
            raise ValueError(f"callback data over {DATA_LIMIT} bytes: {data!r}")
        return data

    @classmethod
    @abstractmethod
    def parse(cls, fields: list[str]) -> Tap | None:
        """The tap the fields stand for; None for anything malformed."""


@dataclass(frozen=True)
class Consent(Tap):
    prefix = "consent"
    agree: bool

    def fields(self) -> tuple[str, ...]:
        return ("yes" if self.agree else "no",)

    @classmethod
    def parse(cls, fields: list[str]) -> Consent | None:
        return cls(fields == ["yes"]) if fields in (["yes"], ["no"]) else None


@dataclass(frozen=True)
class ReminderTime(Tap):
    prefix = "time"
    at: time

    def fields(self) -> tuple[str, ...]:
        return (f"{self.at:%H:%M}",)

    @classmethod
    def parse(cls, fields: list[str]) -> ReminderTime | None:
        chosen = parse_clock_time(fields[0]) if len(fields) == 1 and len(fields[0]) <= 5 else None
        return None if chosen is None else cls(chosen)


@dataclass(frozen=True)
class Choose(Tap):
    """An answer to a questionnaire item (an option, a one-tap value, same/done/skip)."""

    prefix = "q"
    response_id: int
    item_id: str
    code: str

    def fields(self) -> tuple[str, ...]:
        return (str(self.response_id), self.item_id, self.code)

    @classmethod
    def parse(cls, fields: list[str]) -> Choose | None:
        if len(fields) != 3:
            return None
        response_id, item_id, code = record_id(fields[0]), _name(fields[1]), _value(fields[2])
        return None if response_id is None or item_id is None or code is None else cls(response_id, item_id, code)


@dataclass(frozen=True)
class ResponseTap(Tap):
    """A tap about a whole questionnaire: Back, Submit, Edit."""

    response_id: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.response_id),)

    @classmethod
    def parse(cls, fields: list[str]) -> ResponseTap | None:
        response_id = record_id(fields[0]) if len(fields) == 1 else None
        return None if response_id is None else cls(response_id)


class Back(ResponseTap):
    prefix = "qb"


class Submit(ResponseTap):
    prefix = "qs"


class EditAnswers(ResponseTap):
    prefix = "qe"


@dataclass(frozen=True)
class EditItem(Tap):
    prefix = "qi"
    response_id: int
    item_id: str

    def fields(self) -> tuple[str, ...]:
        return (str(self.response_id), self.item_id)

    @classmethod
    def parse(cls, fields: list[str]) -> EditItem | None:
        if len(fields) != 2:
            return None
        response_id, item_id = record_id(fields[0]), _name(fields[1])
        return None if response_id is None or item_id is None else cls(response_id, item_id)


@dataclass(frozen=True)
class StartTap(Tap):
    """A one-tap start (the reminder's Start, the "I feel unwell now" under a reply)."""

    def fields(self) -> tuple[str, ...]:
        return ("start",)

    @classmethod
    def parse(cls, fields: list[str]) -> StartTap | None:
        return cls() if fields == ["start"] else None


class StartCheckin(StartTap):
    prefix = "checkin"


class StartReport(StartTap):
    prefix = "report"


@dataclass(frozen=True)
class Dose(Tap):
    prefix = "dose"
    contact_id: int
    answer: DoseAnswer

    def fields(self) -> tuple[str, ...]:
        return (str(self.contact_id), self.answer.value)

    @classmethod
    def parse(cls, fields: list[str]) -> Dose | None:
        if len(fields) != 2 or fields[1] not in DoseAnswer.__members__.values():
            return None
        contact_id = record_id(fields[0])
        return None if contact_id is None else cls(contact_id, DoseAnswer(fields[1]))


@dataclass(frozen=True)
class ChooseLanguage(Tap):
    prefix = "lang"
    language: str

    def fields(self) -> tuple[str, ...]:
        return (self.language,)

    @classmethod
    def parse(cls, fields: list[str]) -> ChooseLanguage | None:
        return cls(fields[0]) if len(fields) == 1 and fields[0] in languages() else None


class StopChoice(enum.StrEnum):
    CONTACT = "contact"  # the messages only
    CONSENT = "consent"  # leave the study
    NO = "no"  # continue


@dataclass(frozen=True)
class Stop(Tap):
    """/stop's answer."""

    prefix = "stop"
    choice: StopChoice

    def fields(self) -> tuple[str, ...]:
        return (self.choice.value,)

    @classmethod
    def parse(cls, fields: list[str]) -> Stop | None:
        return cls(StopChoice(fields[0])) if len(fields) == 1 and fields[0] in StopChoice.__members__.values() else None


@dataclass(frozen=True)
class Alert(Tap):
    """A tap on an escalation alert: ack, confirm, dismiss, or a coded reason (no:<reason>)."""

    prefix = "esc"
    ACTIONS: ClassVar[tuple[str, ...]] = ("ack", "confirm", "dismiss")
    escalation_id: int
    action: str  # one of ACTIONS, or "no" with `reason`
    reason: DismissalReason | None = None

    def fields(self) -> tuple[str, ...]:
        return (str(self.escalation_id), self.action if self.reason is None else f"no:{self.reason.value}")

    @classmethod
    def parse(cls, fields: list[str]) -> Alert | None:
        escalation_id = record_id(fields[0]) if len(fields) == 2 else None
        if escalation_id is None:
            return None
        action = fields[1]
        if action in cls.ACTIONS:
            return cls(escalation_id, action)
        reason = action.removeprefix("no:")
        if action.startswith("no:") and reason in DismissalReason.__members__.values():
            return cls(escalation_id, "no", DismissalReason(reason))
        return None


@dataclass(frozen=True)
class InfectionForm(Tap):
    """A tap in the infection form: save, cancel, edit <field>, or <field> <value>."""

    prefix = "inf"
    CONTROLS: ClassVar[tuple[str, ...]] = ("save", "cancel")
    field: str
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.field, self.value)

    @classmethod
    def parse(cls, fields: list[str]) -> InfectionForm | None:
        if len(fields) != 2 or _name(fields[0]) is None:
            return None
        if fields[0] in cls.CONTROLS:
            return cls(fields[0]) if fields[1] == "" else None
        value = _name(fields[1]) if fields[0] == "edit" else _value(fields[1])
        return None if value is None else cls(fields[0], value)


@dataclass(frozen=True)
class Page(Tap):
    page: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.page),)

    @classmethod
    def parse(cls, fields: list[str]) -> Page | None:
        page = page_number(fields[0]) if len(fields) == 1 else None
        return None if page is None else cls(page)


class AlertsPage(Page):
    prefix = "alerts"


class OverduePage(Page):
    prefix = "overdue"


def decode(data: object) -> Tap | None:
    """The typed tap, or None for anything else (never an exception)."""
    if not isinstance(data, str) or len(data.encode()) > DATA_LIMIT:
        return None
    prefix, _bar, rest = data.partition("|")
    kind = KINDS.get(prefix)
    return None if kind is None or not _bar else kind.parse(rest.split("|"))


def pattern(*kinds: type[Tap]) -> str:
    """The regular expression matching the data of `kinds` (a handler's registration)."""
    return "^(?:" + "|".join(re.escape(kind.prefix) for kind in kinds) + r")\|"


@dataclass(frozen=True)
class Button:
    """A button as services describe it; `handlers.render` and the outbox's sender draw it."""

    label: str
    tap: Tap


Rows = list[list[Button]]


def rows_payload(rows: Rows) -> list[list[list[str]]]:
    """Buttons as stored in an outbox row's JSON payload: [[label, data], ...] per row."""
    return [[[button.label, button.tap.data()] for button in row] for row in rows]
