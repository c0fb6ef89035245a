"""Translations and locale formatting.

The language is the patient's column; the translator is looked up per message, never a module global.
English msgids with named placeholders: `_("Next check-in: {date}").format(date=...)`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.support import NullTranslations, Translations

from models.patient import LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"  # the msgids' language: for people whose Telegram language is none of ours


def N_(message: str) -> str:
    return message


class Gettext(Protocol):
    def __call__(self, message: str) -> str: ...


def languages() -> tuple[str, ...]:
    """The study's languages (models.Language), the default first."""
    return LANGUAGES


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    if language not in languages():
        language = languages()[0]
    return Translations.load(str(LOCALES_DIR), [language], domain="messages")


def gettext_for(language: str) -> Gettext:
    return translations(language).gettext


def language_name(language: str) -> str:
    """The language's name in itself: 中文, English, 日本語."""
    return str(Locale.parse(language).language_name)


def telegram_language(language: str) -> str:
    """Our language as Telegram's two-letter code: zh_CN -> zh."""
    return str(Locale.parse(language).language)


def language_from_telegram(code: str | None) -> str:
    """Telegram's user language code as one of ours (zh-hans -> zh_CN); the msgids' language otherwise."""
    prefix = (code or "").lower().replace("_", "-").split("-")[0]
    matching = [language for language in languages() if telegram_language(language) == prefix]
    if matching:
        return matching[0]
    return SOURCE_LANGUAGE if SOURCE_LANGUAGE in languages() else languages()[0]


def languages_line() -> str:
    """ "中文 / English": every language by its own name."""
    return " / ".join(language_name(language) for language in languages())


def long_date(day: date, language: str) -> str:
    """'2026年12月24日 星期四' / 'Thursday, December 24, 2026'."""
    if language == "zh_CN":
        return format_date(day, format="long", locale="zh_CN") + " " + format_date(day, "EEEE", locale="zh_CN")
    return format_date(day, format="full", locale="en")


def short_date(day: date, language: str) -> str:
    """'12月24日 周四' / 'Thu, Dec 24'."""
    if language == "zh_CN":
        return format_date(day, "M月d日 EEE", locale="zh_CN")
    return format_date(day, "EEE, MMM d", locale="en")


def clock(at: time) -> str:
    return f"{at:%H:%M}"


def local_datetime(instant: datetime, zone: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{short_date(local.date(), language)} {format_time(local.time(), 'HH:mm', locale=language)}"


def joined(items: list[str], language: str) -> str:
    """'a, b and c' / 'a、b和c'."""
    return format_list(items, locale=language) if items else ""
