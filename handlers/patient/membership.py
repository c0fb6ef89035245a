"""Telegram tells the bot when a person blocks it (their chat member status becomes "kicked") and when they
unblock it ("member"): the patient's reachability follows, so reminders stop and start again with it."""

from __future__ import annotations

from telegram import ChatMember, Update

from bot.app import BotContext
from bot.services import onboarding
from bot.services.reachability import mark_reachable, mark_unreachable


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    if change is None:
        return
    status, now = change.new_chat_member.status, context.deps.clock.now()
    async with context.deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=change.chat.id)
        if patient is None:
            return
        if status == ChatMember.BANNED:
            await mark_unreachable(session, patient=patient, why="blocked the bot", now=now)
        elif status == ChatMember.MEMBER:
            await mark_reachable(session, patient=patient, now=now)
        await session.commit()
