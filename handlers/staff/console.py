"""/web: a one-time sign-in link to the study console."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, WebAppInfo

from bot.i18n import N_
from bot.services.web_access import MINI_APP_PATH, issue_sign_in_link, sign_in_path
from handlers.context import BotContext
from handlers.staff.access import staff_command
from models import Staff

OPEN_HERE = N_("Open the console in Telegram")
NO_CONSOLE = N_("The study console is not set up yet. Please ask the study's administrator.")


@staff_command
async def web_command(message: Message, staff: Staff, context: BotContext) -> None:
    deps = context.deps
    _ = context.gettext
    if deps.settings.web_url is None:
        await message.reply_text(_(NO_CONSOLE))
        return
    async with deps.session() as session:
        token = await issue_sign_in_link(session, staff_id=staff.id, actor=f"staff:{staff.id}", now=deps.clock.now())
    origin = deps.settings.web_url.rstrip("/")
    # Telegram opens only https pages as a Mini App: behind plain http the link is the only way in.
    mini_app = (
        InlineKeyboardMarkup([[InlineKeyboardButton(_(OPEN_HERE), web_app=WebAppInfo(origin + MINI_APP_PATH))]])
        if origin.startswith("https://")
        else None
    )
    # No preview: fetching the page for one would use the link up.
    await message.reply_text(
        _("Your sign-in link to the study console. It works once, for 10 minutes:\n{link}").format(
            link=origin + sign_in_path(token)
        ),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=mini_app,
    )
