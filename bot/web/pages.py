"""The signed-in staff member's pages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from bot.services.alerts import ROLE_NAMES
from bot.web.deps import CurrentStaff
from bot.web.render import page
from bot.web.security import CSRF_FIELD

router = APIRouter()


@router.get("/")
async def home(user: CurrentStaff) -> HTMLResponse:
    _ = user.gettext
    return page(
        "home.html",
        gettext=_,
        language=user.staff.language,
        user=user,
        role=_(ROLE_NAMES[user.staff.role]),
        csrf_field=CSRF_FIELD,
    )
