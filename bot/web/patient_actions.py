"""A coordinator's actions on the patient page: re-invite (the new link and its QR code, printable), withdraw,
reinstate, correct an answer. Who may act is decided in bot/services/console_patient_actions.py; a refused
request shows why on the page and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.services import console_patient_actions as actions
from bot.services.errors import DomainError
from bot.services.invites import deep_link, local_expiry
from bot.web.deps import CheckedForm, ConsoleDep, CurrentStaff, SessionDep, SignedIn
from bot.web.enroll import qr_data_uri
from bot.web.patients import patient_view
from bot.web.render import page

router = APIRouter()


async def _act(
    patient_id: int,
    user: SignedIn,
    context: ConsoleDep,
    session: SessionDep,
    *,
    action: Callable[[], Awaitable[object]],
    values: dict[str, str],
    done: str,
) -> Response:
    try:
        await action()
    except actions.OutOfScope:
        raise HTTPException(status_code=404) from None  # another site's patient looks like a missing one
    except actions.NotAllowed:
        raise HTTPException(status_code=403) from None
    except DomainError as refused:
        return await _refused(patient_id, user, context, session, refused=refused, values=values)
    return RedirectResponse(f"/patients/{patient_id}?done={done}", status_code=303)


async def _refused(
    patient_id: int,
    user: SignedIn,
    context: ConsoleDep,
    session: SessionDep,
    *,
    refused: DomainError,
    values: dict[str, str],
) -> HTMLResponse:
    """The page again with why, and what was typed; whatever the refused action added is dropped."""
    await session.rollback()
    await session.refresh(user.staff)
    return await patient_view(
        patient_id, user, context, session, error=refused.translated(user.gettext), values=values, status=400
    )


@router.post("/patients/{patient_id}/reinvite")
async def reinvite(
    patient_id: int, user: CurrentStaff, _form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    try:
        patient, code = await actions.reinvite(
            session, staff=user.staff, patient_id=patient_id, protocol=context.protocol, now=context.clock.now()
        )
    except actions.OutOfScope:
        raise HTTPException(status_code=404) from None
    except actions.NotAllowed:
        raise HTTPException(status_code=403) from None
    except DomainError as refused:
        return await _refused(patient_id, user, context, session, refused=refused, values={})
    link = deep_link(context.bot_username, code)
    expiry = await local_expiry(session, code=code)
    return page(
        "reinvited.html",
        gettext=user.gettext,
        language=user.staff.language,
        user=user,
        patient_id=patient_id,
        item={
            "study_id": patient.study_id,
            "link": link,
            "qr": qr_data_uri(link),
            "until": f"{expiry:%Y-%m-%d %H:%M} ({expiry.tzinfo})",
        },
    )


@router.post("/patients/{patient_id}/withdraw")
async def withdraw(
    patient_id: int, user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    values = {"kind": form.get("kind", ""), "note": form.get("note", "")}
    return await _act(
        patient_id,
        user,
        context,
        session,
        action=lambda: actions.withdraw_patient(
            session, staff=user.staff, patient_id=patient_id, **values, now=context.clock.now()
        ),
        values=values,
        done="withdrawn",
    )


@router.post("/patients/{patient_id}/reinstate")
async def reinstate(
    patient_id: int, user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    values = {"reason": form.get("reason", "")}
    return await _act(
        patient_id,
        user,
        context,
        session,
        action=lambda: actions.reinstate_patient(
            session, staff=user.staff, patient_id=patient_id, **values, now=context.clock.now()
        ),
        values={"reinstate_reason": values["reason"]},
        done="reinstated",
    )


@router.post("/patients/{patient_id}/correct")
async def correct(
    patient_id: int, user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> Response:
    values = {name: form.get(name, "") for name in ("month", "item_id", "value", "reason")}
    return await _act(
        patient_id,
        user,
        context,
        session,
        action=lambda: actions.correct(
            session,
            staff=user.staff,
            patient_id=patient_id,
            **values,
            protocol=context.protocol,
            now=context.clock.now(),
        ),
        values={f"correct_{name}": value for name, value in values.items()},
        done="corrected",
    )
