"""The loopback Bot API answers python-telegram-bot's real HTTP layer like Telegram, faults included."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import get_settings
from bot.simulator.bot_api import BotApiStub

CHAT = 424242


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub() as running:
        yield running


@pytest.fixture
async def bot(stub: BotApiStub) -> AsyncIterator[Bot]:
    async with Bot(stub.token, base_url=stub.base_url) as client:
        yield client


async def test_it_answers_the_methods_the_bot_uses(stub: BotApiStub, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "sle_followup_bot"
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
    sent = await bot.send_message(CHAT, "您好", reply_markup=keyboard)
    await bot.edit_message_text("已收到", chat_id=CHAT, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id, reply_markup=None)
    document = await bot.send_document(CHAT, b"study_id\nS001\n", filename="export.csv")
    await bot.set_my_commands([("help", "Help")])
    assert document.document is not None
    assert document.document.file_name == "export.csv"
    assert stub.texts_to(CHAT) == ["您好", ""]
    call = stub.sent_to(CHAT)[0]
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "是", "callback_data": "yes"}]]}
    assert [call.method for call in stub.calls] == [
        "getMe",  # Bot.initialize()
        "getMe",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "setMyCommands",
    ]


async def test_it_injects_the_errors_telegram_gives(stub: BotApiStub, bot: Bot) -> None:
    stub.fail("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(CHAT, "x")
    assert limited.value.retry_after == timedelta(seconds=7)
    stub.fail("sendMessage", 500)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "x")
    stub.fail("sendMessage", 400, chat_id=CHAT + 1)
    await bot.send_message(CHAT, "only the other chat fails")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(CHAT + 1, "x")
    stub.block(CHAT)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "x")


async def test_it_stalls_a_call_until_the_client_times_out(stub: BotApiStub, bot: Bot) -> None:
    stub.stall("sendMessage")
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "x", read_timeout=0.2)
    sent = await bot.send_message(CHAT, "the next call is answered")
    assert sent.text == "the next call is answered"


async def test_it_delivers_simulated_users_to_a_polling_application(stub: BotApiStub) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    application = ApplicationBuilder().token(stub.token).base_url(stub.base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        stub.user_sends(CHAT, "第一条")
        stub.user_sends(CHAT + 1, "second")
        async with asyncio.timeout(5):
            await stub.wait_for_calls("sendMessage", 2)
        await application.updater.stop()
        await application.stop()
    assert stub.texts_to(CHAT) == ["第一条"]
    assert stub.texts_to(CHAT + 1) == ["second"]


def test_it_asks_telegram_for_the_username_when_none_is_configured(
    cli_env: str, stub_in_thread: BotApiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOLLOWUP_BOT_USERNAME")
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN", stub_in_thread.token)
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_API_URL", stub_in_thread.base_url)
    get_settings.cache_clear()
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["sites", "add", "PKU", "--name", "PKU", "--timezone", "Asia/Shanghai", "--phone", "+86 10 8832 5555"]
        ).exit_code
        == 0
    )
    result = runner.invoke(cli, ["staff", "add", "--site", "PKU", "--role", "pi", "--name", "Prof Zhang"])
    assert result.exit_code == 0, result.stderr
    assert re.search(r"https://t\.me/sle_followup_bot\?start=\S+$", result.stdout)
    assert [call.method for call in stub_in_thread.calls] == ["getMe"]
