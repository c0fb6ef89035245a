"""What every route may ask for: the console's context, a database session, the signed-in staff member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import use_session
from bot.i18n import Gettext, gettext_for
from bot.protocol import StudyProtocol
from bot.services.console_enrollment import may_enroll
from bot.services.console_patient_actions import may_manage_patients
from bot.services.console_report import may_report
from bot.services.web_access import signed_in_staff
from bot.web.security import CSRF_FIELD, SESSION_COOKIE, csrf_ok, csrf_token, session_token_from
from models import Staff


@dataclass(frozen=True)
class Console:
    """The running console: its public origin, signing secret, database and clock."""

    base_url: str
    secret: str
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    protocol: StudyProtocol
    bot_username: str  # for patients' deep links
    bot_token: str | None = None  # checks a Telegram Mini App's initData; None: no Mini App sign-in

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


class NotSignedIn(Exception):
    """No live session: the page asks the visitor to send /web to the bot."""


def console(request: Request) -> Console:
    context: Console = request.app.state.console
    return context


ConsoleDep = Annotated[Console, Depends(console)]


async def db_session(context: ConsoleDep) -> AsyncIterator[AsyncSession]:
    async with use_session(context.sessions) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(db_session)]


READER_LANGUAGE = "reader_language"  # request.state's note of the signed-in staff member's language


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    session_token: str
    csrf: str
    here: str  # the page's path and query, to come back to after switching the language

    @property
    def gettext(self) -> Gettext:
        return gettext_for(self.staff.language)

    @property
    def may_enroll(self) -> bool:
        return may_enroll(self.staff)

    @property
    def may_manage_patients(self) -> bool:
        return may_manage_patients(self.staff)

    @property
    def may_report(self) -> bool:
        return may_report(self.staff)


async def signed_in(request: Request, context: ConsoleDep, session: SessionDep) -> SignedIn:
    token = session_token_from(context.secret, request.cookies.get(SESSION_COOKIE))
    staff = None if token is None else await signed_in_staff(session, token=token, now=context.clock.now())
    if token is None or staff is None:
        raise NotSignedIn
    setattr(request.state, READER_LANGUAGE, staff.language)  # for an error page raised later in the request
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return SignedIn(staff=staff, session_token=token, csrf=csrf_token(context.secret, token), here=here)


CurrentStaff = Annotated[SignedIn, Depends(signed_in)]


async def checked_form(request: Request, context: ConsoleDep, user: CurrentStaff) -> AsyncIterator[dict[str, str]]:
    """A POSTed form whose CSRF token belongs to this session (anything else is refused, 403). Its uploaded
    files (`await request.form()` in the route) are closed after the response."""
    form = await request.form()
    try:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not csrf_ok(context.secret, user.session_token, fields.get(CSRF_FIELD)):
            raise HTTPException(status_code=403)
        yield fields
    finally:
        await form.close()


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]
