"""The comparison report: pick a cut-off date and download report.html, km.png and the tables as a zip."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from bot.i18n import N_
from bot.services.console_enrollment import NotAllowed
from bot.services.console_report import may_report, report_data, report_site
from bot.services.errors import DomainError
from bot.web.deps import CheckedForm, ConsoleDep, CurrentStaff, SessionDep, SignedIn
from bot.web.downloads import zip_download, zipped
from bot.web.render import page

router = APIRouter()
NOT_A_DATE = N_("cut-off: {value} is not a date (YYYY-MM-DD)")


async def _form(
    session: AsyncSession, user: SignedIn, *, today: date, error: str | None = None, status: int = 200
) -> HTMLResponse:
    return page(
        "report.html",
        gettext=user.gettext,
        language=user.staff.language,
        user=user,
        site=await report_site(session, staff=user.staff),
        today=today.isoformat(),
        error=error,
        status=status,
    )


@router.get("/report")
async def report_form(user: CurrentStaff, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
    if not may_report(user.staff):
        raise HTTPException(status_code=403)
    return await _form(session, user, today=context.clock.now().date())


@router.post("/report")
async def report(user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep) -> Response:
    from bot.report_files import write_report  # pandas, lifelines and matplotlib: only when asked for

    today = context.clock.now().date()
    typed = form.get("cutoff") or today.isoformat()
    try:
        cutoff = date.fromisoformat(typed)
    except ValueError:
        error = user.gettext(NOT_A_DATE).format(value=typed)
        return await _form(session, user, today=today, error=error, status=400)
    try:
        data = await report_data(session, staff=user.staff, protocol=context.protocol, cutoff=cutoff)
    except NotAllowed:
        raise HTTPException(status_code=403) from None
    except DomainError as refused:
        return await _form(session, user, today=today, error=refused.translated(user.gettext), status=400)
    with tempfile.TemporaryDirectory() as folder:
        write_report(data, Path(folder))
        content = zipped(Path(folder))
    return zip_download(content, f"nct04136106-report-{cutoff:%Y%m%d}.zip")
