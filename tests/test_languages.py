"""Languages are a list, not a pair: a third language is a catalog away. A generated catalog ("ja", every
msgid marked) is offered by the picker, gets its own command menu and is used for a Telegram user whose app
speaks it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.i18n
from bot.app import patient_menu
from bot.clock import FakeClock
from bot.i18n import LOCALES_DIR, gettext_for, language_from_telegram, languages
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from tests.bot_fixtures import enrolled
from tests.test_patient_bot import onboard

CHAT = 5550001


def generated_catalog(locales: Path, language: str) -> None:
    """A catalog for `language` from the template: every message translated as "[ja] " + its msgid."""
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=language)
    for message in template:
        if message.id:
            catalog.add(message.id, f"[{language}] {message.id}")
    folder = locales / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)


@pytest.fixture
def japanese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    generated_catalog(locales, "ja")
    monkeypatch.setattr(bot.i18n, "LOCALES_DIR", locales)
    monkeypatch.setattr(bot.i18n, "LANGUAGES", (*bot.i18n.LANGUAGES, "ja"))
    bot.i18n.translations.cache_clear()
    yield
    bot.i18n.translations.cache_clear()


def test_it_knows_the_languages_from_one_list(japanese: None) -> None:
    assert languages() == ("zh_CN", "en", "ja")
    assert language_from_telegram("ja") == "ja"
    assert language_from_telegram("zh-hans") == "zh_CN"
    assert language_from_telegram("de") == "en"
    assert gettext_for("ja")("Yes") == "[ja] Yes"


async def test_it_offers_and_uses_a_language_added_as_a_catalog(
    japanese: None, bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    menu = [(command.command, command.description) for command in patient_menu("ja")]
    assert menu[0] == ("checkin", "[ja] Answer this month's questions")
    assert menu[4] == ("language", "中文 / English / 日本語")
    assert patient_menu("zh_CN")[0].description == "回答本月的问题"

    await bot.send(777, "/start", language="ja")
    assert bot.last_text(777).startswith("[ja] ")

    invite = await enrolled(engine, protocol, clock)
    await onboard(bot, invite.code)
    await bot.send(CHAT, "/language")
    picker = bot.stub.screen(CHAT)[-1]
    assert [label for label, _data in picker.buttons] == ["中文", "English", "日本語"]
    assert picker.text == "请选择语言 / Choose your language / [ja] Choose your language"
