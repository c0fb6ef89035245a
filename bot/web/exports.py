"""Exports: pick a format (and, for admins, a site) and download the datasets with their codebook as a zip."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse, Response

from bot.exports.registry import FORMATS, export_study
from bot.services.console_enrollment import NotAllowed
from bot.services.console_exports import audit_export, export_scope, export_sites
from bot.services.errors import NotFound
from bot.services.status import sites_of
from bot.web.deps import CheckedForm, ConsoleDep, CurrentStaff, SessionDep
from bot.web.downloads import zip_download, zipped
from bot.web.render import page

router = APIRouter()


@router.get("/exports")
async def exports_form(user: CurrentStaff, session: SessionDep) -> HTMLResponse:
    sites = await export_sites(session, staff=user.staff)
    if not sites:
        raise HTTPException(status_code=403)
    return page(
        "exports.html",
        gettext=user.gettext,
        language=user.staff.language,
        user=user,
        formats=FORMATS,
        sites=sites if sites_of(user.staff) is None else [],  # admins choose a site, or all
    )


@router.post("/exports")
async def download(user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep) -> Response:
    fmt = next((choice for choice in FORMATS if choice == form.get("format")), None)
    if fmt is None:
        raise HTTPException(status_code=400)
    try:
        site_code = await export_scope(session, staff=user.staff, site_code=form.get("site") or None)
    except NotAllowed:
        raise HTTPException(status_code=403) from None
    except NotFound:
        raise HTTPException(status_code=404) from None
    with tempfile.TemporaryDirectory() as folder:
        await export_study(session, out=Path(folder), fmt=fmt, site_code=site_code)
        archive_bytes = zipped(Path(folder))
    now = context.clock.now()
    await audit_export(
        session, staff=user.staff, site_code=site_code, fmt=fmt, size=len(archive_bytes), now=now, via="web"
    )
    return zip_download(archive_bytes, f"nct04136106-{(site_code or 'all').lower()}-{fmt}-{now:%Y%m%d}.zip")
