"""A patient's page (read-only): contacts, answers and triage, escalations, infections, the audit trail."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse

from bot.forms import ITEMS, answer_label
from bot.i18n import local_datetime
from bot.services.alerts import GROUP_NAMES, reasons_line
from bot.services.infection_form import CHOICES, TITLES
from bot.services.patient_record import patient_record
from bot.web.deps import ConsoleDep, CurrentStaff, SessionDep
from bot.web.labels import CONTACT_STATUS_NAMES, ESCALATION_STATUS_NAMES, FORM_NAMES, LEVEL_NAMES, STATUS_NAMES
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


@router.get("/patients/{patient_id}")
async def patient_page(patient_id: int, user: CurrentStaff, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
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
        code = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        choice = CHOICES.get(field, {}).get(code)
        return _(choice) if choice else code

    return page(
        "patient.html",
        gettext=_,
        language=language,
        user=user,
        record=record,
        when=when,
        answered=answered,
        changes=changes,
        reasons=lambda codes: reasons_line(codes, context.protocol, _),
        doses=Counter(dose.status for dose in record.doses if dose.due_at <= context.clock.now()),
        infection_fields=[field for field in TITLES if field != "onset_date"],
        infection_titles=TITLES,
        infection_value=infection_value,
        group_names=GROUP_NAMES,
        status_names=STATUS_NAMES,
        contact_status_names=CONTACT_STATUS_NAMES,
        escalation_status_names=ESCALATION_STATUS_NAMES,
        level_names=LEVEL_NAMES,
        form_names=FORM_NAMES,
    )
