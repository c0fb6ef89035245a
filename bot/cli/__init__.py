"""`followup`: the operators' command line. Every command has --help; errors are one line on stderr."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import corrections, infections, patients, sites
from bot.cli import patient_links as patient_links  # registers its commands on patients.app
from bot.cli import patient_status as patient_status  # registers its commands on patients.app
from bot.cli.data import demo_command, export_command, report_command
from bot.cli.doctor import doctor_command
from bot.cli.ops import run_command, tick_command
from bot.cli.runtime import fail, runtime
from bot.cli.triage import triage_command
from bot.cli.web import web_command
from bot.db import grant_bot_role, upgrade_database

app = typer.Typer(
    help="Follow-up of SLE patients in the IL-2 infection study (NCT04136106).",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
app.add_typer(sites.sites_app, name="sites")
app.add_typer(sites.staff_app, name="staff")
app.add_typer(patients.app, name="patients")
app.add_typer(infections.app, name="infections")
app.add_typer(corrections.answers_app, name="answers")
app.command("triage")(triage_command)
app.command("run")(run_command)
app.command("tick")(tick_command)
app.command("export")(export_command)
app.command("report")(report_command)
app.command("demo")(demo_command)
app.command("doctor")(doctor_command)
app.command("web")(web_command)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the tables to this version's schema (safe to run again)."""
    settings = runtime().settings
    try:
        upgrade_database(settings.database_url)
    except Exception as error:
        fail(f"database upgrade failed: {str(error).splitlines()[0]}")
    typer.echo("database is up to date")


@db_app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="The PostgreSQL role `followup run` connects as")]) -> None:
    """PostgreSQL: let ROLE (which owns nothing) run the bot: read and write the study tables, only read and
    append the audit trail. Run as the tables' owner, after each `db upgrade`."""
    settings = runtime().settings
    try:
        grant_bot_role(settings.database_url, role)
    except ValueError as error:
        fail(str(error))
    except Exception as error:
        fail(f"database grant failed: {str(error).splitlines()[0]}")
    typer.echo(f"{role} can run the bot; the audit trail is append-only for it")


def main() -> None:
    app()
