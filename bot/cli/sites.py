"""`followup sites` and `followup staff`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.links import bot_username, valid_until
from bot.cli.runtime import ROW_NUMBER, Runtime, console, fail, run_with_session, runtime
from bot.config import SettingsError
from bot.services.invites import deep_link
from bot.services.reinvites import reinvite_staff
from bot.services.sites import add_site, add_staff, linked_clinicians, list_sites, list_staff, update_site
from bot.services.staff_changes import deactivate_staff, reactivate_staff, update_staff
from bot.services.web_access import issue_sign_in_link, sign_in_path
from models import StaffRole

sites_app = typer.Typer(help="Study sites.", no_args_is_help=True, rich_markup_mode=None)
staff_app = typer.Typer(help="Clinicians, PIs, coordinators and admins.", no_args_is_help=True, rich_markup_mode=None)


@sites_app.command("add")
def sites_add(
    code: Annotated[str, typer.Argument(help="Short site code, e.g. PKU")],
    name: Annotated[str, typer.Option(help="Site name")],
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Asia/Shanghai")],
    phone: Annotated[str, typer.Option(help="The site's 24-hour phone (named in every urgent advice)")],
) -> None:
    """Add a study site."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        site = await add_site(
            session, code=code, name=name, timezone=timezone, phone=phone, actor=rt.actor, now=rt.clock.now()
        )
        return site.code

    typer.echo(f"site {run_with_session(use_case)} added")


@sites_app.command("update")
def sites_update(
    code: Annotated[str, typer.Argument(help="Site code")],
    name: Annotated[str | None, typer.Option(help="New site name")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="New IANA time zone (the digest hour; patients keep theirs)")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="New 24-hour phone (named in every urgent advice)")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail)")] = None,
) -> None:
    """Change a site's name, time zone or phone (audited)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        site = await update_site(
            session,
            code=code,
            name=name,
            timezone=timezone,
            phone=phone,
            reason=reason,
            actor=rt.actor,
            now=rt.clock.now(),
        )
        return site.code

    typer.echo(f"site {run_with_session(use_case)} updated")


@sites_app.command("list")
def sites_list() -> None:
    """List the sites with their phone and linked clinicians (who get every alert first)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> Table:
        table = Table("code", "name", "time zone", "phone", "linked clinicians")
        clinicians = await linked_clinicians(session)
        for site in await list_sites(session):
            names = ", ".join(member.name for member in clinicians.get(site.id, []))
            table.add_row(site.code, site.name, site.timezone, site.phone or "", names or "none linked")
        return table

    console.print(run_with_session(use_case))


@staff_app.command("add")
def staff_add(
    site: Annotated[str, typer.Option(help="Site code")],
    role: Annotated[StaffRole, typer.Option(help="What they do; admins see every site")],
    name: Annotated[str, typer.Option(help="Name shown to colleagues in alerts")],
) -> None:
    """Add a staff member and print their one-time Telegram invite link."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        username = await bot_username(rt.settings)
        staff, code = await add_staff(
            session,
            site_code=site,
            role=role,
            name=name,
            actor=rt.actor,
            now=rt.clock.now(),
            invite_valid_days=rt.protocol.enrollment.staff_invite_valid_days,
        )
        link = deep_link(username, code)
        until = await valid_until(session, code=code)
        return f"staff #{staff.id} ({staff.role.value}) added; invite link, valid once, {until}:\n{link}"

    typer.echo(run_with_session(use_case))


@staff_app.command("list")
def staff_list(site: Annotated[str | None, typer.Option(help="Only this site")] = None) -> None:
    """List staff and whether they have linked Telegram."""

    async def use_case(session: AsyncSession, rt: Runtime) -> Table:
        table = Table("id", "site", "role", "name", "telegram")
        for staff, staff_site in await list_staff(session, site_code=site):
            linked = "deactivated" if not staff.active else ("linked" if staff.telegram_user_id else "invited")
            table.add_row(str(staff.id), staff_site.code, staff.role.value, staff.name, linked)
        return table

    console.print(run_with_session(use_case))


@staff_app.command("reinvite")
def staff_reinvite(
    staff_id: Annotated[int, typer.Argument(help="Staff number (see `staff list`)", **ROW_NUMBER)],
) -> None:
    """Print a new one-time invite link (earlier unused ones stop working)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        username = await bot_username(rt.settings)
        staff, code = await reinvite_staff(
            session, staff_id=staff_id, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        until = await valid_until(session, code=code)
        return f"new invite for staff #{staff.id} ({staff.name}), valid once, {until}:\n{deep_link(username, code)}"

    typer.echo(run_with_session(use_case))


@staff_app.command("deactivate")
def staff_deactivate(
    staff_id: Annotated[int, typer.Argument(help="Staff number (see `staff list`)", **ROW_NUMBER)],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Take every right away at once: no alerts, no staff menu, open invites void."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        staff = await deactivate_staff(session, staff_id=staff_id, reason=reason, actor=rt.actor, now=rt.clock.now())
        return f"staff #{staff.id} ({staff.name}) deactivated"

    typer.echo(run_with_session(use_case))


@staff_app.command("reactivate")
def staff_reactivate(
    staff_id: Annotated[int, typer.Argument(help="Staff number (see `staff list`)", **ROW_NUMBER)],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Give a deactivated member their rights back; prints a new one-time invite to link Telegram again."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        username = await bot_username(rt.settings)
        staff, code = await reactivate_staff(
            session, staff_id=staff_id, reason=reason, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        until = await valid_until(session, code=code)
        link = deep_link(username, code)
        return f"staff #{staff.id} ({staff.name}) reactivated; invite link, valid once, {until}:\n{link}"

    typer.echo(run_with_session(use_case))


@staff_app.command("update")
def staff_update(
    staff_id: Annotated[int, typer.Argument(help="Staff number (see `staff list`)", **ROW_NUMBER)],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
    role: Annotated[StaffRole | None, typer.Option(help="New role")] = None,
    name: Annotated[str | None, typer.Option(help="New name shown to colleagues")] = None,
    site: Annotated[str | None, typer.Option(help="New site code")] = None,
) -> None:
    """Change a member's role, name or site (rights follow at once; audited)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        staff = await update_staff(
            session,
            staff_id=staff_id,
            role=role,
            name=name,
            site_code=site,
            reason=reason,
            actor=rt.actor,
            now=rt.clock.now(),
        )
        return f"staff #{staff.id} ({staff.name}, {staff.role.value}) updated"

    typer.echo(run_with_session(use_case))


@staff_app.command("sign-in-link")
def staff_sign_in_link(
    staff_id: Annotated[int, typer.Argument(help="Staff ID (see `followup staff list`)", **ROW_NUMBER)],
) -> None:
    """Print a one-time sign-in link to the study console (works once, for 10 minutes)."""

    try:
        base_url, _secret = runtime().settings.require_web()
    except SettingsError as error:
        fail(str(error))

    async def use_case(session: AsyncSession, rt: Runtime) -> str:
        token = await issue_sign_in_link(session, staff_id=staff_id, actor=rt.actor, now=rt.clock.now())
        return base_url + sign_in_path(token)

    typer.echo(run_with_session(use_case))
