"""The console's ASGI application: routes, static files, the headers on every response, error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.responses import Response

from bot.i18n import gettext_for
from bot.web import alerts, auth, board, enroll, exports, mini_app, patient_actions, patients, report
from bot.web.deps import READER_LANGUAGE, Console, NotSignedIn
from bot.web.render import STATIC, language_of, page, visitor_page
from bot.web.security import SECURITY_HEADERS


def create_app(context: Console) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await close_database(context)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.console = context
    app.include_router(auth.router)
    app.include_router(mini_app.router)
    app.include_router(board.router)
    app.include_router(alerts.router)
    app.include_router(patients.router)
    app.include_router(patient_actions.router)
    app.include_router(enroll.router)
    app.include_router(exports.router)
    app.include_router(report.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)  # a route may set a stricter or its own policy
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _error: Exception) -> Response:
        return visitor_page("signed_out.html", accept_language=request.headers.get("accept-language"), status=401)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: Exception) -> Response:
        return error_page(request, status=error.status_code if isinstance(error, HTTPException) else 500)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _error: Exception) -> Response:
        return error_page(request, status=400)

    return app


def error_page(request: Request, *, status: int) -> Response:
    """Refused or not found, in the signed-in staff member's language (`deps.signed_in` notes it), else in the
    browser's."""
    language = getattr(request.state, READER_LANGUAGE, None) or language_of(request.headers.get("accept-language"))
    return page(
        "error.html", gettext=gettext_for(language), status=status, language=language, user=None, status_code=status
    )


async def close_database(context: Console) -> None:
    """Close the console's connections (at shutdown, in the loop that opened them)."""
    engine = context.sessions.kw.get("bind")
    if isinstance(engine, AsyncEngine):
        await engine.dispose()
