"""Templates (autoescaped) rendered with the reader's translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from bot.i18n import DEFAULT_LANGUAGE, Gettext, gettext_for, language_name, languages, matching_language

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def html_lang(language: str) -> str:
    """Our code as an HTML lang tag: zh_CN -> zh-CN."""
    return language.replace("_", "-")


def language_choices() -> list[tuple[str, str, str]]:
    """Every language of the bot as (code, its own name, HTML lang tag): the switcher's and the forms' choices."""
    return [(code, language_name(code), html_lang(code)) for code in languages()]


_environment.globals.update(html_lang=html_lang, language_choices=language_choices)


def language_of(accept_language: str | None) -> str:
    """A visitor who is not signed in reads their browser's first language if we have it, else the default."""
    first = (accept_language or "").split(",")[0].split(";")[0]
    return matching_language(first) or DEFAULT_LANGUAGE


def page(template: str, *, gettext: Gettext, status: int = 200, **context: Any) -> HTMLResponse:
    html = _environment.get_template(template).render(_=gettext, **context)
    return HTMLResponse(html, status_code=status)


def visitor_page(template: str, *, accept_language: str | None, status: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(accept_language)
    return page(template, gettext=gettext_for(language), status=status, language=language, user=None, **context)
