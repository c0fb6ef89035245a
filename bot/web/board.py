"""The follow-up board (the console's home page)."""

from __future__ import annotations

import enum
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException
from starlette.responses import HTMLResponse

from bot.i18n import local_datetime
from bot.services.alerts import GROUP_NAMES
from bot.services.board import BoardQuery, BoardSort, Cell, follow_up_board
from bot.web.deps import ConsoleDep, CurrentStaff, SessionDep
from bot.web.labels import CELL_MARKS, CELL_NAMES, SORT_NAMES, STATUS_NAMES
from bot.web.render import page
from models import Group, PatientStatus

router = APIRouter()
E = TypeVar("E", bound=enum.StrEnum)


def _choice(kind: type[E], value: str | None) -> E | None:
    """A filter's value: empty means any; anything unknown is a bad request."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise HTTPException(status_code=400) from None


@router.get("/")
async def board(
    user: CurrentStaff,
    context: ConsoleDep,
    session: SessionDep,
    site: str | None = None,
    group: str | None = None,
    status: str | None = None,
    overdue: str | None = None,
    sort: str | None = None,
    page_number: int = 1,
) -> HTMLResponse:
    query = BoardQuery(
        site_code=(site or None),
        group=_choice(Group, group),
        status=_choice(PatientStatus, status),
        overdue_only=overdue == "1",
        sort=_choice(BoardSort, sort) or BoardSort.STUDY_ID,
        page=page_number,
    )
    found = await follow_up_board(
        session, staff=user.staff, query=query, months=context.protocol.checkin_plan.months, now=context.clock.now()
    )
    filters = {"site": site or "", "group": group or "", "status": status or "", "overdue": overdue or ""}
    filters["sort"] = query.sort.value
    language = user.staff.language
    return page(
        "board.html",
        gettext=user.gettext,
        language=language,
        user=user,
        board=found,
        filters=filters,
        page_link=lambda number: "/?" + urlencode({**filters, "page_number": number}),
        when=lambda row: local_datetime(row.last_contact, row.timezone, language) if row.last_contact else "–",
        cells=list(Cell),
        cell_names=CELL_NAMES,
        cell_marks=CELL_MARKS,
        status_names=STATUS_NAMES,
        sort_names=SORT_NAMES,
        group_names={Group(code): name for code, name in GROUP_NAMES.items()},
        statuses=list(PatientStatus),
        sorts=list(BoardSort),
    )
