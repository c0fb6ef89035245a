"""Enroll: one patient (with a printable QR code of their link), or a CSV file previewed row by row, all or
nothing. Who may enroll, and for which site, is decided in bot/services/console_enrollment.py."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse

from bot.i18n import N_
from bot.services.console_enrollment import (
    MAX_CSV_BYTES,
    enroll_one,
    enrollable_sites,
    import_csv,
    may_enroll,
    preview_csv,
)
from bot.services.enrollment import CSV_COLUMNS, Enrolled
from bot.services.enrollment_request import EnrollmentRequest, request_problem
from bot.services.errors import DomainError
from bot.services.invites import deep_link, local_expiry
from bot.web.deps import CheckedForm, ConsoleDep, CurrentStaff, SessionDep, SignedIn
from bot.web.render import page
from models import Group

router = APIRouter()
NOT_CSV_TEXT = N_("the file must be UTF-8 CSV text (2 MB at most)")
FIELDS = ("study_id", "site", "group", "enrolled_on", "il2_start", "language", "reminder_time")


def qr_data_uri(link: str) -> str:
    """The link as a PNG QR code inline in the page (the CSP allows data: images only)."""
    buffer = io.BytesIO()
    qrcode.make(link, box_size=6, border=4).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _coordinator(user: SignedIn) -> None:
    if not may_enroll(user.staff):
        raise HTTPException(status_code=403)


async def _form(
    user: SignedIn, session: SessionDep, *, values: dict[str, str], error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page(
        "enroll.html",
        gettext=user.gettext,
        language=user.staff.language,
        user=user,
        sites=await enrollable_sites(session, staff=user.staff),
        groups=list(Group),
        values=values,
        error=error,
        columns=", ".join(CSV_COLUMNS),
        status=status,
    )


async def _links(context: ConsoleDep, session: SessionDep, enrolled: list[Enrolled]) -> list[dict[str, Any]]:
    shown = []
    for item in enrolled:
        link = deep_link(context.bot_username, item.code)
        expiry = await local_expiry(session, code=item.code)
        shown.append(
            {
                "study_id": item.patient.study_id,
                "link": link,
                "qr": qr_data_uri(link),
                "until": f"{expiry:%Y-%m-%d %H:%M} ({expiry.tzinfo})",
            }
        )
    return shown


@router.get("/enroll")
async def enroll_form(user: CurrentStaff, session: SessionDep) -> HTMLResponse:
    _coordinator(user)
    return await _form(user, session, values={})


@router.post("/enroll")
async def enroll(user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
    _coordinator(user)
    values = {name: form.get(name, "") for name in FIELDS}
    try:
        request = EnrollmentRequest.model_validate({name: value for name, value in values.items() if value})
        enrolled = await enroll_one(
            session, staff=user.staff, request=request, protocol=context.protocol, now=context.clock.now()
        )
    except ValidationError as invalid:
        return await _form(
            user, session, values=values, error=request_problem(invalid).translated(user.gettext), status=400
        )
    except DomainError as refused:
        await _undo(session, user)
        return await _form(user, session, values=values, error=refused.translated(user.gettext), status=400)
    shown = await _links(context, session, [enrolled])
    return page("enrolled.html", gettext=user.gettext, language=user.staff.language, user=user, enrolled=shown)


@router.post("/enroll/csv")
async def preview(request: Request, user: CurrentStaff, _checked: CheckedForm, session: SessionDep) -> HTMLResponse:
    _coordinator(user)
    upload = (await request.form()).get("file")
    content = await _text(upload)
    try:
        rows = None if content is None else await preview_csv(session, staff=user.staff, content=content)
    except DomainError as refused:
        return await _form(user, session, values={}, error=refused.translated(user.gettext), status=400)
    if content is None or rows is None:
        return await _form(user, session, values={}, error=user.gettext(NOT_CSV_TEXT), status=400)
    return page(
        "enroll_preview.html",
        gettext=user.gettext,
        language=user.staff.language,
        user=user,
        rows=rows,
        content=content,
        bad=sum(1 for row in rows if row.error),
        status=200 if all(row.error is None for row in rows) else 400,
    )


@router.post("/enroll/csv/import")
async def import_all(user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
    _coordinator(user)
    content = form.get("content", "")
    if len(content.encode("utf-8")) > MAX_CSV_BYTES:
        raise HTTPException(status_code=400)
    try:
        enrolled = await import_csv(
            session, staff=user.staff, content=content, protocol=context.protocol, now=context.clock.now()
        )
    except DomainError as refused:
        await _undo(session, user)
        return await _form(user, session, values={}, error=refused.translated(user.gettext), status=400)
    shown = await _links(context, session, enrolled)
    return page("enrolled.html", gettext=user.gettext, language=user.staff.language, user=user, enrolled=shown)


async def _undo(session: SessionDep, user: SignedIn) -> None:
    """Drop whatever a refused enrollment added, keeping the signed-in staff member loaded for the page."""
    await session.rollback()
    await session.refresh(user.staff)


async def _text(upload: object) -> str | None:
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
