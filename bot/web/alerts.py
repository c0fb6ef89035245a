"""Open alerts: acknowledge, and resolve as "Not an infection", through the same services as Telegram (the
Telegram alerts are edited and the patient told exactly as when a clinician taps there)."""

from __future__ import annotations

from babel.dates import format_timedelta
from fastapi import APIRouter, HTTPException, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.i18n import local_datetime
from bot.infection_fields import INFECTION_FIELDS
from bot.roles import ROLE_NAMES
from bot.services import escalation as escalations
from bot.services import infection_form
from bot.services.alerts import DISMISSAL_LABELS, LEVEL_TITLES, reasons_line
from bot.services.console_alerts import open_alerts
from bot.services.errors import DomainError
from bot.services.infection_dates import DEATH_DATE
from bot.web.deps import CheckedForm, ConsoleDep, CurrentStaff, SessionDep, SignedIn
from bot.web.render import page
from models import DismissalReason, EscalationStatus

router = APIRouter()
NOTICES = {"acknowledged", "already", "dismissed", "confirmed"}


async def _page(
    user: SignedIn,
    context: ConsoleDep,
    session: SessionDep,
    *,
    notice: str | None,
    status: int = 200,
    refused: tuple[int, str] | None = None,
) -> HTMLResponse:
    now, language, _ = context.clock.now(), user.staff.language, user.gettext
    return page(
        "alerts.html",
        gettext=_,
        language=language,
        user=user,
        alerts=await open_alerts(session, staff=user.staff),
        notice=notice,
        level_titles=LEVEL_TITLES,
        role_names=ROLE_NAMES,
        dismissal_labels=DISMISSAL_LABELS,
        acknowledged=EscalationStatus.ACKNOWLEDGED,
        reasons=lambda alert: reasons_line(alert.escalation.reasons, context.protocol, _),
        age=lambda alert: format_timedelta(now - alert.escalation.raised_at, locale=language, threshold=1.5),
        when=lambda instant, zone: local_datetime(instant, zone, language),
        refused=refused,
        infection_fields=INFECTION_FIELDS,
        infection_choices=infection_form.CHOICES,
        status=status,
    )


@router.get("/alerts")
async def alerts(user: CurrentStaff, context: ConsoleDep, session: SessionDep, done: str | None = None) -> HTMLResponse:
    return await _page(user, context, session, notice=done if done in NOTICES else None)


@router.post("/alerts/{escalation_id}/acknowledge")
async def acknowledge(
    escalation_id: int, user: CurrentStaff, _form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    result, seen = await escalations.acknowledge(
        session, staff=user.staff, escalation_id=escalation_id, now=context.clock.now()
    )
    if seen is None:
        raise HTTPException(status_code=404)  # another site's alert looks like a missing one
    if result is escalations.AckResult.DENIED:
        raise HTTPException(status_code=403)  # a coordinator sees the site's alerts but does not acknowledge
    return RedirectResponse(f"/alerts?done={result.value}", status_code=303)


@router.post("/alerts/{escalation_id}/dismiss")
async def dismiss(
    escalation_id: int, user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    listed = {alert.escalation.id: alert for alert in await open_alerts(session, staff=user.staff)}
    alert = listed.get(escalation_id)
    if alert is None:
        raise HTTPException(status_code=404)
    if not alert.may_act:
        raise HTTPException(status_code=403)
    code = form.get("code", "")
    if code not in DismissalReason.__members__.values():
        return await _page(user, context, session, notice="reason_needed", status=400)
    dismissed = await escalations.dismiss(
        session,
        staff=user.staff,
        escalation_id=escalation_id,
        code=DismissalReason(code),
        reason=form.get("reason", ""),
        now=context.clock.now(),
    )
    if dismissed is None:
        return await _page(user, context, session, notice="reason_needed", status=400)
    return RedirectResponse("/alerts?done=dismissed", status_code=303)


@router.post("/alerts/{escalation_id}/infection")
async def confirm_infection(
    escalation_id: int,
    request: Request,
    user: CurrentStaff,
    form: CheckedForm,
    context: ConsoleDep,
    session: SessionDep,
) -> Response:
    """The whole infection record in one form, checked as Telegram's guided form and saved by the same service."""
    listed = {alert.escalation.id: alert for alert in await open_alerts(session, staff=user.staff)}
    alert = listed.get(escalation_id)
    if alert is None:
        raise HTTPException(status_code=404)
    if not alert.may_act:
        raise HTTPException(status_code=403)
    ticked = await request.form()
    values: dict[str, object] = {
        spec.name: [code for code in ticked.getlist(spec.name) if isinstance(code, str)]
        if spec.many
        else form.get(spec.name, "")
        for spec in INFECTION_FIELDS
    }
    values[DEATH_DATE] = form.get(DEATH_DATE, "")
    try:
        await infection_form.confirm(
            session, staff=user.staff, escalation_id=escalation_id, values=values, now=context.clock.now()
        )
    except DomainError as error:
        await session.rollback()
        await session.refresh(user.staff)
        problem = infection_form.refusal_text(error, user.gettext)
        return await _page(user, context, session, notice=None, status=400, refused=(escalation_id, problem))
    return RedirectResponse("/alerts?done=confirmed", status_code=303)
