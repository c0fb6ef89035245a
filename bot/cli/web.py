"""`followup web`: the study console, served by uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.links import bot_username
from bot.cli.runtime import fail, run_async, runtime
from bot.config import SettingsError
from bot.db import check_schema, create_engine, session_factory
from bot.logs import configure_logging


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
    configure_logging(rt.settings.log_level, secrets=[secret])
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
