"""Languages are a list, not a pair: a third language is a catalog away. A generated catalog ("ja", every
msgid marked) is offered by the picker, gets its own command menu, is chosen by a patient and then used for
everything the bot writes to her, is allowed by the services and the database, and has its codebook column."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from alembic.config import Config
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.i18n
from alembic import command
from bot.app import patient_menu
from bot.clock import FakeClock
from bot.db import ALEMBIC_DIR, create_engine, session_factory
from bot.i18n import LOCALES_DIR, gettext_for, language_from_telegram, languages, long_date, short_date
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.simulator.harness import Harness
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's site fixture
from tests.test_patient_bot import onboard, open_checkin_month_1, patient

CHAT = 5550001
CHRISTMAS_EVE = date(2026, 12, 24)


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
    bot.i18n.translations.cache_clear()
    yield
    bot.i18n.translations.cache_clear()


def test_it_knows_the_languages_from_one_list(japanese: None) -> None:
    assert languages() == ("zh_CN", "en", "ja")
    assert language_from_telegram("ja") == "ja"
    assert language_from_telegram("zh-hans") == "zh_CN"
    assert language_from_telegram("de") == "en"
    assert gettext_for("ja")("Yes") == "[ja] Yes"
    assert (long_date(CHRISTMAS_EVE, "ja"), short_date(CHRISTMAS_EVE, "ja")) == (
        "2026年12月24日 木曜日",
        "12月24日(木)",
    )
    assert (long_date(CHRISTMAS_EVE, "zh_CN"), short_date(CHRISTMAS_EVE, "zh_CN")) == (
        "2026年12月24日 星期四",
        "12月24日 周四",
    )


def test_it_enrolls_and_updates_in_a_catalogs_language_and_refuses_any_other(
    japanese: None,
    study: str,  # noqa: F811
) -> None:
    enroll = ("patients", "enroll", "--site", "PKU", "--group", "control", "--study-id", "S001", "--language")
    before = counts(study)
    assert followup(*enroll, "fr") == (1, "", "error: language: use one of zh_CN, en, ja\n")
    assert counts(study) == before, "nothing written"
    assert followup(*enroll, "ja")[0] == 0
    update = ("patients", "update", "S001", "--reason", "her wish", "--language")
    assert followup(*update, "x" * 40) == (1, "", "error: --language: use one of zh_CN, en, ja\n")
    assert followup(*update, "en")[0] == 0
    assert followup(*update, "ja")[0] == 0
    code, shown, _ = followup("patients", "show", "S001")
    assert code == 0
    assert re.search(r"language\W+ja", shown)

    assert followup("export", "--out", "exports")[0] == 0
    codebook = pd.read_csv(Path("exports") / "codebook.csv", encoding="utf-8-sig").set_index(["dataset", "variable"])
    assert list(codebook.columns[:3]) == ["label_en", "label_zh", "label_ja"]
    languages_coded = "zh_CN=zh_CN / zh_CN / zh_CN; en=en / en / en; ja=ja / ja / ja"
    assert codebook.loc[("patients", "language"), "codes"] == languages_coded
    assert codebook.loc[("checkins", "symptoms_cough")].iloc[:3].tolist() == [
        "Symptoms: Cough",
        "症状：咳嗽",
        "[ja] [ja] Symptoms: [ja] Cough",  # the ja "{question}: {option}" around the ja question and option
    ]
    patients = pd.read_csv(Path("exports") / "patients.csv", encoding="utf-8-sig")
    assert patients["language"].tolist() == ["ja"]


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

    await bot.tap(CHAT, "日本語")
    assert bot.last_text(CHAT) == "[ja] From now on I will write in English."
    assert (await patient(engine)).language == "ja"

    await open_checkin_month_1(clock)
    await scheduling_pass(bot, engine, protocol, clock)
    reminder = bot.last_text(CHAT)  # the check-in reminder comes from the ja catalog
    assert reminder == "[ja] 📋 It is time for your monthly check-in (month 1 of 24). It takes about two minutes."
    await bot.send(CHAT, "/checkin")
    assert bot.last_text(CHAT).startswith("(1/10) [ja] Since your last check-in"), "and so does the first question"


async def scheduling_pass(bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock) -> None:
    """One pass of the scheduler and the outbox, through the real sender to the stub."""
    outbox = dispatcher(engine, bot.application.bot, clock, FakeSleep(clock))
    await Jobs(sessions=session_factory(engine), protocol=protocol, clock=clock, dispatcher=outbox).tick()


def test_it_shows_protocol_texts_a_language_lacks_in_english_and_the_doctor_names_them(
    japanese: None, protocol: StudyProtocol, cli_env: str
) -> None:
    assert protocol.dose_regimen.amount.for_language("ja") == "1 million IU"
    assert protocol.dose_regimen.amount.for_language("zh_CN") == "100万单位（IU）"
    code, out, _ = followup("doctor")
    assert code == 1
    assert out.splitlines()[0] == (
        "protocol: no ja text for study.title, dose_regimen.text, dose_regimen.amount: en is shown instead"
    )


async def test_it_keeps_the_stored_languages_through_the_migration_and_back(
    tmp_path: Path, protocol: StudyProtocol, clock: FakeClock
) -> None:
    """0007 lifts the two-value CHECK and keeps the codes; going back is refused while a patient uses a language
    the old schema does not know, so no language is ever rewritten."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["url"] = url
    await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_engine(url)
    try:
        await enrolled(engine, protocol, clock, language="en")
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE patients SET language = 'ja'"))
        with pytest.raises(RuntimeError, match="1 patients rows have a language other than zh_CN or en"):
            await asyncio.to_thread(command.downgrade, config, "0006")
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE patients SET language = 'en'"))
        await asyncio.to_thread(command.downgrade, config, "0006")
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(text("UPDATE patients SET language = 'ja'"))
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT study_id, language FROM patients"))).all() == [("S001", "en")]
    finally:
        await engine.dispose()
