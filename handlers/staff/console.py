"""/web: a one-time sign-in link to the study console."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Message

from bot.i18n import N_
from bot.services.web_access import issue_sign_in_link, sign_in_path
from handlers.context import BotContext
from handlers.staff.access import staff_command
from models import Staff

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
    link = deps.settings.web_url.rstrip("/") + sign_in_path(token)
    # No preview: fetching the page for one would use the link up.
    await message.reply_text(
        _("Your sign-in link to the study console. It works once, for 10 minutes:\n{link}").format(link=link),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
