"""Telegram tells the bot when a person blocks it (their chat member status becomes "kicked") and when they
unblock it ("member"): the patient's reachability follows, so reminders stop and start again with it."""

from __future__ import annotations

from telegram import ChatMember, Update

from bot.services.reachability import chat_blocked
from handlers.context import BotContext

BLOCKED = {ChatMember.BANNED: True, ChatMember.MEMBER: False}


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in BLOCKED:
        return
    patient = await context.patient()
    if patient is None:
        return
    async with context.deps.session() as session:
        await chat_blocked(
            session, patient=patient, blocked=BLOCKED[change.new_chat_member.status], now=context.deps.clock.now()
        )
