"""Staff onboarding: an invite link connects a Telegram account to a staff record."""

from __future__ import annotations

from telegram import Message

from bot.i18n import Gettext
from bot.services.alerts import ROLE_NAMES
from bot.services.onboarding import LinkedStaff


async def welcome_staff(message: Message, linked: LinkedStaff, _: Gettext) -> None:
    await message.reply_text(
        _(
            "Welcome, {name}. You are linked as {role} of {site}. Alerts about your site's patients will come here."
        ).format(name=linked.staff.name, role=_(ROLE_NAMES[linked.staff.role]), site=linked.site.name)
    )
