"""Templates (autoescaped) rendered with the reader's translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from bot.i18n import Gettext, gettext_for
from models import LANGUAGES

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def language_of(accept_language: str | None) -> str:
    """A visitor who is not signed in reads Chinese unless their browser prefers English first."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else LANGUAGES[0]


def page(template: str, *, gettext: Gettext, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment.get_template(template).render(_=gettext, **context)
    return HTMLResponse(html, status_code=status)


def visitor_page(template: str, *, accept_language: str | None, status: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(accept_language)
    return page(template, gettext=gettext_for(language), status=status, language=language, user=None, **context)
