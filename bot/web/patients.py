"""A patient's page: contacts, answers and triage, escalations, infections, the audit trail; for coordinators,
the forms of the actions in bot/web/patient_actions.py."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from bot.forms import ITEMS, answer_label
from bot.i18n import local_datetime
from bot.infection_fields import INFECTION_FIELDS
from bot.services.alerts import GROUP_NAMES, reasons_line
from bot.services.corrections import CHECKIN_ITEMS
from bot.services.follow_up import ENDED_STATUSES, NO_CONTACT_STATUSES
from bot.services.infection_form import CHOICES, TITLES
from bot.services.patient_corrections import Correction
from bot.services.patient_record import patient_record
from bot.services.patient_status import REINSTATABLE, WithdrawalKind
from bot.web.deps import Console, ConsoleDep, CurrentStaff, SessionDep, SignedIn
from bot.web.labels import (
    CONTACT_STATUS_NAMES,
    ESCALATION_STATUS_NAMES,
    FORM_NAMES,
    LEVEL_NAMES,
    STATUS_NAMES,
    WITHDRAWAL_NAMES,
)
from bot.web.render import page
from models import AuditEvent

router = APIRouter()


def changes(event: AuditEvent) -> list[str]:
    """An audit event as lines "field: before → after" (a created record: "field: value")."""
    before, after = event.before or {}, event.after or {}

    def shown(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    return [
        f"{key}: {shown(before[key])} → {shown(after.get(key))}" if key in before else f"{key}: {shown(after[key])}"
        for key in [*after, *(key for key in before if key not in after)]
    ]


NOTICES = {"withdrawn", "reinstated", "corrected"}


@router.get("/patients/{patient_id}")
async def patient_page(
    patient_id: int, user: CurrentStaff, context: ConsoleDep, session: SessionDep, done: str | None = None
) -> HTMLResponse:
    return await patient_view(patient_id, user, context, session, notice=done if done in NOTICES else None)


async def patient_view(
    patient_id: int,
    user: SignedIn,
    context: Console,
    session: AsyncSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page, with a notice after an action or the reason an action was refused (and what was typed)."""
    record = await patient_record(session, staff=user.staff, patient_id=patient_id)
    if record is None:
        raise HTTPException(status_code=404)  # another site's patient looks like a missing one
    _, language, zone = user.gettext, user.staff.language, record.site.timezone

    def when(instant: datetime | None) -> str:
        return local_datetime(instant, zone, language) if instant is not None else "–"

    def answered(item_id: str, value: Any) -> tuple[str, str]:
        item = ITEMS.get(item_id)
        return (_(item.title), answer_label(item, value, _)) if item is not None else (item_id, str(value))

    def infection_value(field: str, value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, list):
            return _(", ").join(infection_value(field, code) for code in value)
        code = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        choice = CHOICES.get(field, {}).get(code)
        return _(choice) if choice else code

    def corrected(correction: Correction) -> tuple[str, list[str]]:
        """What was corrected, and a line "field: before → after" per change."""
        if correction.action == "answer.correct":
            lines = []
            for change in correction.changes:
                title, before = answered(change.field, change.before)
                lines.append(f"{title}: {before} → {answered(change.field, change.after)[1]}")
            return _("Check-in of month {month}").format(month=correction.month), lines
        if correction.action == "infection.void":
            return _("Infection #{number} voided").format(number=correction.infection_id), []
        return _("Infection #{number}").format(number=correction.infection_id), [
            f"{_(TITLES[change.field]) if change.field in TITLES else change.field}: "
            f"{infection_value(change.field, change.before)} → {infection_value(change.field, change.after)}"
            for change in correction.changes
        ]

    return page(
        "patient.html",
        gettext=_,
        language=language,
        user=user,
        record=record,
        when=when,
        answered=answered,
        changes=changes,
        corrected=corrected,
        reasons=lambda codes: reasons_line(codes, context.protocol, _),
        doses=Counter(dose.status for dose in record.doses if dose.due_at <= context.clock.now()),
        infection_fields=[spec.name for spec in INFECTION_FIELDS if spec.value_type != "date"],  # onset: the heading
        infection_titles=TITLES,
        infection_value=infection_value,
        group_names=GROUP_NAMES,
        status_names=STATUS_NAMES,
        contact_status_names=CONTACT_STATUS_NAMES,
        escalation_status_names=ESCALATION_STATUS_NAMES,
        level_names=LEVEL_NAMES,
        form_names=FORM_NAMES,
        notice=notice,
        error=error,
        values=values or {},
        withdrawal_kinds=list(WithdrawalKind),
        withdrawal_names=WITHDRAWAL_NAMES,
        may_withdraw=record.patient.status not in ENDED_STATUSES,
        may_reinstate=record.patient.status in REINSTATABLE,
        may_reinvite=record.patient.status not in NO_CONTACT_STATUSES,
        checkin_items=CHECKIN_ITEMS,
        status=status,
    )
