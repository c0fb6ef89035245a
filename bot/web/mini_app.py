"""Signing in from the Telegram Mini App: the page's own script posts the initData Telegram put in the address's
fragment (`#tgWebAppData=...`, never sent to a server by itself); the server checks it and sets the same session
cookie as a sign-in link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from bot.services.mini_app_sign_in import sign_in_with_init_data
from bot.services.web_access import MINI_APP_PATH
from bot.web.auth import signed_in_page
from bot.web.deps import ConsoleDep, SessionDep
from bot.web.render import visitor_page
from bot.web.security import MINI_APP_SECURITY_POLICY

router = APIRouter()


@router.get(MINI_APP_PATH)
async def mini_app_page(request: Request) -> HTMLResponse:
    response = visitor_page("mini_app.html", accept_language=request.headers.get("accept-language"))
    response.headers["Content-Security-Policy"] = MINI_APP_SECURITY_POLICY
    return response


@router.post(MINI_APP_PATH)
async def mini_app_sign_in(request: Request, context: ConsoleDep, session: SessionDep) -> HTMLResponse:
    language = request.headers.get("accept-language")
    form = await request.form()
    init_data = form.get("init_data")
    session_token = None
    if isinstance(init_data, str) and context.bot_token is not None:
        session_token = await sign_in_with_init_data(
            session, init_data=init_data, bot_token=context.bot_token, now=context.clock.now()
        )
    if session_token is None:
        return visitor_page("mini_app_refused.html", accept_language=language, status=400)
    return signed_in_page(context, session_token=session_token, accept_language=language)
