"""Translations and locale formatting.

The language is the patient's column; the translator is looked up per message, never a module global.
English msgids with named placeholders: `_("Next check-in: {date}").format(date=...)`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LANGUAGE = "en"  # the msgids' language: for people whose Telegram language is none of ours
DEFAULT_LANGUAGE = "zh_CN"  # the study's patients mostly read Chinese: a new patient's language, the picker's first


def N_(message: str) -> str:
    return message


class Gettext(Protocol):
    def __call__(self, message: str) -> str: ...


def languages() -> tuple[str, ...]:
    """The study's languages: one for each compiled catalog in locales/, the default first, then by code.
    The picker, the command menus, the codebook's label columns and the allowed values all come from here."""
    return _catalog_languages(LOCALES_DIR)


@lru_cache(maxsize=4)
def _catalog_languages(locales: Path) -> tuple[str, ...]:
    found = sorted(path.parent.parent.name for path in locales.glob("*/LC_MESSAGES/messages.mo"))
    if DEFAULT_LANGUAGE not in found:
        raise RuntimeError(f"no compiled catalog for {DEFAULT_LANGUAGE} in {locales}: run `make translations`")
    return (DEFAULT_LANGUAGE, *(language for language in found if language != DEFAULT_LANGUAGE))


def checked_language(language: str) -> str:
    """The language if the bot has its catalog; otherwise a ValueError that names the choices."""
    if language not in languages():
        raise ValueError(f"use one of {', '.join(languages())}")
    return language


@lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    if language not in languages():
        language = DEFAULT_LANGUAGE
    return Translations.load(str(LOCALES_DIR), [language], domain="messages")


def gettext_for(language: str) -> Gettext:
    return translations(language).gettext


def language_name(language: str) -> str:
    """The language's name in itself: 中文, English, 日本語."""
    return str(Locale.parse(language).language_name)


def telegram_language(language: str) -> str:
    """Our language as Telegram's two-letter code: zh_CN -> zh."""
    return str(Locale.parse(language).language)


def matching_language(code: str | None) -> str | None:
    """A user's language tag (Telegram's zh-hans, a browser's en-GB) as one of ours, if we have it."""
    prefix = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return next((language for language in languages() if telegram_language(language) == prefix), None)


def language_from_telegram(code: str | None) -> str:
    """Telegram's user language code as one of ours (zh-hans -> zh_CN); the msgids' language otherwise."""
    return matching_language(code) or (SOURCE_LANGUAGE if SOURCE_LANGUAGE in languages() else DEFAULT_LANGUAGE)


def languages_line() -> str:
    """ "中文 / English": every language by its own name."""
    return " / ".join(language_name(language) for language in languages())


def long_date(day: date, language: str) -> str:
    """The locale's full date: '2026年12月24日 星期四' / 'Thursday, December 24, 2026'."""
    locale = Locale.parse(language)
    return format_date(day, _weekday_apart(str(locale.date_formats["full"].pattern)), locale=locale)


def short_date(day: date, language: str) -> str:
    """The locale's month, day and weekday (the MMMEd skeleton): '12月24日 周四' / 'Thu, Dec 24'."""
    locale = Locale.parse(language)
    return format_date(day, _weekday_apart(str(locale.datetime_skeletons["MMMEd"].pattern)), locale=locale)


def _weekday_apart(pattern: str) -> str:
    """A weekday at the end of a pattern, glued to the date (y年M月d日EEEE), gets a space: easier to read."""
    return re.sub(r"(?<=[^\sE'(])(E+)$", r" \1", pattern)


def clock(at: time) -> str:
    return f"{at:%H:%M}"


def local_datetime(instant: datetime, zone: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{short_date(local.date(), language)} {format_time(local.time(), 'HH:mm', locale=language)}"


def joined(items: list[str], language: str) -> str:
    """'a, b and c' / 'a、b和c'."""
    return format_list(items, locale=language) if items else ""
