"""Signing in from a Telegram link, and out."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.services.errors import DomainError
from bot.services.web_access import set_language, sign_in, sign_out
from bot.web.deps import CheckedForm, Console, ConsoleDep, CurrentStaff, SessionDep
from bot.web.render import page, visitor_page
from bot.web.security import SESSION_COOKIE, signed_cookie

router = APIRouter()


@router.get("/sign-in/{token}")
async def sign_in_from_link(token: str, request: Request, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
    """Exchange the link at once for a session cookie. The way on is a same-site refresh, not a 303: a
    SameSite=Strict cookie is not sent along a redirect that began on another site (the Telegram link)."""
    language = request.headers.get("accept-language")
    session_token = await sign_in(session, token=token, now=context.clock.now())
    if session_token is None:
        return visitor_page("link_refused.html", accept_language=language, status=400)
    return signed_in_page(context, session_token=session_token, accept_language=language)


def signed_in_page(context: Console, *, session_token: str, accept_language: str | None) -> HTMLResponse:
    """The page that carries the new session's cookie and moves on to the board."""
    response = visitor_page("signed_in.html", accept_language=accept_language)
    response.set_cookie(
        SESSION_COOKIE,
        signed_cookie(context.secret, session_token),
        httponly=True,
        samesite="strict",
        secure=context.secure_cookies,
        path="/",
    )
    return response


@router.post("/language")
async def switch_language(user: CurrentStaff, form: CheckedForm, context: ConsoleDep, session: SessionDep) -> Response:
    try:
        await set_language(session, staff=user.staff, language=form.get("language", ""), now=context.clock.now())
    except DomainError:
        raise HTTPException(status_code=400) from None
    back = form.get("next", "/")
    local = back.startswith("/") and not back.startswith(("//", "/\\"))
    return RedirectResponse(back if local else "/", status_code=303)


@router.post("/sign-out")
async def sign_out_now(
    user: CurrentStaff, _form: CheckedForm, context: ConsoleDep, session: SessionDep
) -> HTMLResponse:
    await sign_out(session, token=user.session_token, now=context.clock.now())
    response = page("signed_out.html", gettext=user.gettext, language=user.staff.language, user=None)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=context.secure_cookies, httponly=True, samesite="strict")
    return response
