"""`followup web`: the study console, served by uvicorn."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.links import bot_username
from bot.cli.runtime import fail, run_async, runtime
from bot.clock import Clock
from bot.config import SettingsError
from bot.db import check_schema, create_engine, open_session, session_factory
from bot.logs import configure_logging
from bot.services.sites import list_staff
from bot.services.web_access import issue_sign_in_link, sign_in_path

DEMO_BOT_USERNAME = "sle_followup_demo_bot"  # the demo's (bot/simulator/demo.py)


def web_command(
    host: Annotated[str, typer.Option(help="Address to listen on (put a TLS proxy in front)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on")] = 8080,
) -> None:
    """Serve the study console (staff sign in with a link the bot sends on /web)."""
    import uvicorn

    from bot.web.app import create_app
    from bot.web.deps import Console

    rt = runtime()
    try:
        base_url, secret = rt.settings.require_web()
    except SettingsError as error:
        fail(str(error))
    bot_token = rt.settings.telegram_token.get_secret_value() if rt.settings.telegram_token else None
    configure_logging(rt.settings.log_level, secrets=[secret, *([bot_token] if bot_token else [])])
    run_async(_schema_is_current(rt.settings.database_url))
    username = run_async(bot_username(rt.settings))
    engine = create_engine(rt.settings.database_url, pool_pre_ping=True)
    app = create_app(
        Console(
            base_url=base_url,
            secret=secret,
            sessions=session_factory(engine),
            clock=rt.clock,
            protocol=rt.protocol,
            bot_username=username,
            bot_token=bot_token,
        )
    )
    # No access log: a sign-in link's path carries its token.
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, server_header=False)


async def _schema_is_current(url: str) -> None:
    engine = create_engine(url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


class _ShiftedClock:
    """Real time, moved to start at the demo's simulated end (sessions and links age as usual)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


async def _demo_links(url: str, clock: Clock, base_url: str) -> list[str]:
    """A one-time sign-in link for each linked staff member of the demo."""
    engine = create_engine(url, durable=False)
    try:
        async with open_session(engine) as session:
            lines = []
            for staff, site in await list_staff(session):
                if staff.telegram_user_id is None or not staff.active:
                    continue
                token = await issue_sign_in_link(session, staff_id=staff.id, actor="cli:demo", now=clock.now())
                lines.append(f"  {site.code} {staff.role.value:<11} {staff.name}: {base_url}{sign_in_path(token)}")
            return lines
    finally:
        await engine.dispose()


def serve_demo(folder: Path, *, simulated_end: datetime, port: int) -> None:
    """Serve the console on the demo's database, printing a sign-in link per staff member (they work once, for
    10 minutes; run the demo again for new ones)."""
    import uvicorn

    from bot.config import SHIPPED_PROTOCOL
    from bot.protocol import cached_protocol
    from bot.web.app import create_app
    from bot.web.deps import Console

    url = f"sqlite:///{folder / 'demo.db'}"
    base_url = f"http://127.0.0.1:{port}"
    clock = _ShiftedClock(simulated_end)
    links = run_async(_demo_links(url, clock, base_url))
    typer.echo(f"\nThe study console of the demo is at {base_url} (Ctrl-C stops it). Sign in as:")
    for line in links:
        typer.echo(line)
    engine = create_engine(url, durable=False)
    context = Console(
        base_url=base_url,
        secret=secrets.token_hex(32),
        sessions=session_factory(engine),
        clock=clock,
        protocol=cached_protocol(SHIPPED_PROTOCOL),
        bot_username=DEMO_BOT_USERNAME,
    )
    uvicorn.run(create_app(context), host="127.0.0.1", port=port, access_log=False, log_config=None)
