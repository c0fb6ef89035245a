"""Staff onboarding: an invite link connects a Telegram account to a staff record."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeChat, Message

from bot.i18n import N_, Gettext
from bot.roles import ROLE_NAMES
from bot.services.onboarding import LinkedStaff

STAFF_COMMANDS = [
    ("alerts", N_("Open alerts of your site")),
    ("status", N_("Follow-up at a glance")),
    ("export", N_("The datasets as CSV files")),
    ("overdue", N_("Who needs a call")),
    ("web", N_("A sign-in link to the study console")),
    ("help", N_("What this bot does for staff")),
]


async def welcome_staff(message: Message, linked: LinkedStaff, _: Gettext) -> None:
    """Greet the newly linked staff member, and give their chat the staff's command menu (not the patients')."""
    await message.get_bot().set_my_commands(
        [BotCommand(name, _(description)) for name, description in STAFF_COMMANDS],
        scope=BotCommandScopeChat(message.chat_id),
    )
    await message.reply_text(
        _(
            "Welcome, {name}. You are linked as {role} of {site}. Alerts about your site's patients will come here."
        ).format(name=linked.staff.name, role=_(ROLE_NAMES[linked.staff.role]), site=linked.site.name)
    )
