"""`followup doctor`: checks the deployment and prints each problem on its own line."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.runtime import run_async, runtime
from bot.db import SchemaNotCurrent, check_schema, create_engine, open_session
from bot.i18n import SOURCE_LANGUAGE, languages
from bot.protocol import StudyProtocol
from bot.services import health


def _when(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def untranslated_protocol(protocol: StudyProtocol) -> list[str]:
    """A language the bot offers (a catalog) whose protocol texts are missing: those are shown in English."""
    return [
        f"protocol: no {language} text for {', '.join(fields)}: {SOURCE_LANGUAGE} is shown instead"
        for language, fields in protocol.untranslated(languages()).items()
    ]


async def problems(session: AsyncSession, *, now: datetime) -> list[str]:
    """Every problem found in the database, one line each, in a fixed order."""
    found = [
        f"site {code} has no linked, active clinician: an alert's first step reaches nobody there"
        for code in await health.sites_without_responder(session)
    ]
    found += [
        f"site {code} has no phone number: the urgent advice cannot tell patients whom to call"
        for code in await health.sites_without_phone(session)
    ]
    found += [
        f"update {failed.update_id} ({failed.update_type}) was given up after {failed.failures} failures "
        f"(last: {failed.last_error}) at {_when(failed.gave_up_at)}: a person's message or tap was not handled"
        for failed in await health.failed_updates(session)
        if failed.gave_up_at is not None
    ]
    if dead := await health.dead_letters(session):
        found.append(f"outbox: {dead} dead letters (messages Telegram refused for good or that failed too often)")
    backlog = await health.outbox_backlog(session, now=now)
    if backlog.messages and backlog.oldest_due is not None:
        found.append(
            f"outbox: {backlog.messages} messages due for more than {int(health.BACKLOG_AGE.total_seconds() // 60)} "
            f"minutes (oldest due {_when(backlog.oldest_due)}): is `followup run` running?"
        )
    found += [
        f"patient {study_id} cannot be reached in Telegram (blocked the bot or left Telegram)"
        for study_id in await health.unreachable_patients(session)
    ]
    return found


def doctor_command() -> None:
    """Check the deployment (schema, sites, failed updates, outbox, unreachable patients).

    Prints each problem on its own line and exits with status 1, or prints "no problems found"."""
    rt = runtime()

    async def check() -> list[str]:
        engine = create_engine(rt.settings.database_url)
        try:
            try:
                await check_schema(engine)
            except SchemaNotCurrent as behind:
                return [f"database: {behind}"]  # the other checks need the current tables
            async with open_session(engine) as session:
                return untranslated_protocol(rt.protocol) + await problems(session, now=rt.clock.now())
        finally:
            await engine.dispose()

    found = run_async(check())
    if not found:
        typer.echo("no problems found")
        return
    for line in found:
        typer.echo(line)
    raise typer.Exit(code=1)
