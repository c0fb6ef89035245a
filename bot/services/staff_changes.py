"""Staff who leave, come back or change role, name or site: audited with the reason, effective at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for
from bot.protocol import StudyProtocol
from bot.services.audit import audited
from bot.services.errors import DomainError
from bot.services.invites import issue_code, void_open_codes
from bot.services.onboarding import reset_staff_menu
from bot.services.sites import STAFF_NAME_LIMIT, get_site, get_staff, name_or_error
from bot.services.text import visible_text
from models import InvitePurpose, Staff, StaffRole

ACCESS_ENDED = N_(
    "Your access to the follow-up study's staff functions has ended. Alerts no longer come here. "
    "If this is a mistake, please contact the study team."
)


def reason_or_error(reason: str) -> str:
    """A reason kept in the audit trail: visible text, never empty."""
    kept = visible_text(reason)
    if not kept:
        raise DomainError(N_("--reason: say why (it is kept in the audit trail)"))
    return kept


async def deactivate_staff(session: AsyncSession, *, staff_id: int, reason: str, actor: str, now: datetime) -> Staff:
    """The member loses every right at once (services check `active`), their staff menu and their open
    invites; a form or typed reason they were filling in is dropped. Their chat is told."""
    reason = reason_or_error(reason)
    staff = await get_staff(session, staff_id=staff_id)
    if not staff.active:
        raise DomainError(f"staff #{staff.id} is deactivated already")
    with audited(session, entity=staff, actor=actor, action="staff.deactivate", at=now, hide=("draft",)) as notes:
        staff.active, staff.awaiting, staff.awaiting_since, staff.draft = False, None, None, None
        notes["reason"] = reason
    await void_open_codes(session, now=now, staff_id=staff.id)
    if staff.telegram_user_id is not None:
        _ = gettext_for(staff.language)
        await enqueue(
            session,
            dedupe_key=f"staff-deactivated:{staff.id}:{now.isoformat()}",
            chat_id=staff.telegram_user_id,
            staff_id=staff.id,
            now=now,
            payload={"text": _(ACCESS_ENDED)},
        )
        await reset_staff_menu(session, chat_id=staff.telegram_user_id, key=f"staff:{staff.id}", now=now)
    await session.commit()
    return staff


async def reactivate_staff(
    session: AsyncSession, *, staff_id: int, reason: str, protocol: StudyProtocol, actor: str, now: datetime
) -> tuple[Staff, str]:
    """Rights come back through a new one-time invite: the Telegram account is linked again when it is
    redeemed (so the staff menu comes back with the welcome). Returns the member and the clear code."""
    reason = reason_or_error(reason)
    staff = await get_staff(session, staff_id=staff_id)
    if staff.active:
        raise DomainError(f"staff #{staff.id} is active already")
    with audited(session, entity=staff, actor=actor, action="staff.reactivate", at=now, hide=("draft",)) as notes:
        staff.active, staff.telegram_user_id, staff.linked_at = True, None, None
        notes["reason"] = reason
    code = issue_code(
        session,
        purpose=InvitePurpose.STAFF,
        now=now,
        valid_days=protocol.enrollment.staff_invite_valid_days,
        staff_id=staff.id,
    )
    await session.commit()
    return staff, code


async def update_staff(
    session: AsyncSession,
    *,
    staff_id: int,
    role: StaffRole | None,
    name: str | None,
    site_code: str | None,
    reason: str,
    actor: str,
    now: datetime,
) -> Staff:
    """Change a member's role, name or site; rights follow at once (they are checked on every action).
    A form or typed reason in progress is dropped (it may concern a patient no longer theirs)."""
    if role is None and name is None and site_code is None:
        raise DomainError("nothing to change: give --role, --name or --site")
    reason = reason_or_error(reason)
    staff = await get_staff(session, staff_id=staff_id)
    kept_name = name_or_error(name, what="staff name", limit=STAFF_NAME_LIMIT) if name is not None else None
    site = await get_site(session, code=site_code) if site_code is not None else None
    with audited(session, entity=staff, actor=actor, action="staff.update", at=now, hide=("draft",)) as notes:
        staff.role = role or staff.role
        staff.name = kept_name or staff.name
        staff.site_id = site.id if site is not None else staff.site_id
        staff.awaiting, staff.awaiting_since, staff.draft = None, None, None
        notes["reason"] = reason
    await session.commit()
    return staff
