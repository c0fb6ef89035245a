"""`followup patients`: enroll, import, list, show, withdraw, shift-doses, add-cycles, preventive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.links import bot_username, check_writable, valid_until, write_qr
from bot.cli.runtime import Runtime, console, fail, run_with_session
from bot.i18n import DEFAULT_LANGUAGE
from bot.services.consent import consent_pending as is_consent_pending
from bot.services.enrollment import (
    enroll_patient,
    get_patient,
    import_patients,
    list_patients,
    plan_rows,
)
from bot.services.enrollment_request import EnrollmentRequest, request_problem
from bot.services.errors import DomainError
from bot.services.invites import deep_link
from bot.services.patient_status import WithdrawalKind, withdraw
from bot.services.preventive import PREVENTIVE_MEDICINES, set_preventive_medicines
from bot.services.schedule import add_cycles, shift_doses
from models import ContactKind, ContactStatus

app = typer.Typer(
    help="Enroll and manage patients (pseudonymous: study ID only).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("enroll")
def enroll(
    site: Annotated[str, typer.Option(help="Site code")],
    group: Annotated[str, typer.Option(help="il2 or control")],
    study_id: Annotated[str, typer.Option(help="The patient's study ID (no names)")],
    enrolled_on: Annotated[str | None, typer.Option(help="Baseline date YYYY-MM-DD (default: today)")] = None,
    il2_start: Annotated[
        str | None, typer.Option(help="First IL-2 dose YYYY-MM-DD (il2 group; default: baseline)")
    ] = None,
    language: Annotated[str, typer.Option(help="A language code of the catalogs in locales/")] = DEFAULT_LANGUAGE,
    reminder_time: Annotated[str | None, typer.Option(help="HH:MM in the site's time zone (default 09:00)")] = None,
    preventive: Annotated[
        str | None,
        typer.Option(help=f"Regular preventive medicines, comma-separated: {', '.join(PREVENTIVE_MEDICINES)}"),
    ] = None,
    qr: Annotated[Path | None, typer.Option(help="Also write the deep link as a QR code PNG here")] = None,
) -> None:
    """Enroll one patient, write their whole follow-up plan and print the one-time deep link."""
    try:
        request = EnrollmentRequest(
            study_id=study_id,
            site=site,
            group=group,
            enrolled_on=enrolled_on,
            il2_start=il2_start,
            language=language,
            reminder_time=reminder_time,
            preventive=preventive,
        )
    except ValidationError as error:
        fail(str(request_problem(error)))

    async def use_case(session: AsyncSession, rt: Runtime) -> tuple[str, str]:
        username = await bot_username(rt.settings)
        if qr is not None:
            check_writable(qr)
        enrolled = await enroll_patient(
            session, request=request, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        rows = Counter(row.kind for row in await plan_rows(session, patient_id=enrolled.patient.id))
        summary = (
            f"enrolled {enrolled.patient.study_id}: baseline {enrolled.patient.baseline_date}, "
            f"{rows[ContactKind.CHECKIN]} check-ins and {rows[ContactKind.DOSE]} dose reminders planned; "
            f"the link is {await valid_until(session, code=enrolled.code)}"
        )
        return summary, deep_link(username, enrolled.code)

    summary, link = run_with_session(use_case)
    if qr is not None:
        write_qr(link, qr)
        summary += f"; QR code written to {qr}"
    typer.echo(summary, err=True)
    typer.echo(link)


@app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV: study_id,site,group[,enrolled_on,il2_start,language,reminder_time]")
    ],
    qr_dir: Annotated[
        Path | None, typer.Option(help="Also write one captioned QR code PNG per patient into this folder")
    ] = None,
) -> None:
    """Enroll every row of a CSV file, or none if any row is refused. Prints study_id,deep_link lines."""
    if qr_dir is not None:
        from bot.cli.qr_cards import check_qr_dir

        try:
            check_qr_dir(qr_dir)
        except DomainError as error:
            fail(str(error))
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{file}: cannot read as UTF-8 text ({error})")

    async def use_case(session: AsyncSession, rt: Runtime) -> list[tuple[str, str, str]]:
        username = await bot_username(rt.settings)
        enrolled = await import_patients(
            session, content=content, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        return [
            (item.patient.study_id, deep_link(username, item.code), await valid_until(session, code=item.code))
            for item in enrolled
        ]

    links = run_with_session(use_case)
    expiries = sorted({until for _study_id, _link, until in links})
    typer.echo(f"imported {len(links)} patients; the links are {', '.join(expiries)}", err=True)
    if qr_dir is not None:
        from bot.cli.qr_cards import write_qr_card

        for study_id, link, until in links:
            write_qr_card(link, qr_dir / f"{study_id}.png", study_id=study_id, valid_until=until)
        typer.echo(f"{len(links)} QR codes written to {qr_dir}", err=True)
    typer.echo("study_id,deep_link")
    for study_id, link, _until in links:
        typer.echo(f"{study_id},{link}")


@app.command("list")
def list_(
    site: Annotated[str | None, typer.Option(help="Only this site")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only who needs a call: missed check-ins, unreachable, never linked")
    ] = False,
    consent_pending: Annotated[
        bool,
        typer.Option(
            "--consent-pending", help="Only active patients who still have to agree to the protocol's consent version"
        ),
    ] = False,
) -> None:
    """List patients with their status and the consent version they agreed to ("1.0 → 2.0": asked to agree to
    the protocol's new version, nothing is collected until they do)."""
    if overdue:
        from bot.cli.overdue import print_overdue

        print_overdue(site)
        return

    async def use_case(session: AsyncSession, rt: Runtime) -> Table:
        table = Table("study ID", "site", "group", "status", "baseline", "telegram", "consent")
        current = rt.protocol.enrollment.consent_version
        for patient, patient_site in await list_patients(session, site_code=site):
            pending = is_consent_pending(patient, rt.protocol)
            if consent_pending and not pending:
                continue
            linked = "unreachable" if patient.unreachable else ("linked" if patient.telegram_chat_id else "-")
            table.add_row(
                patient.study_id,
                patient_site.code,
                patient.group.value,
                patient.status.value,
                patient.baseline_date.isoformat(),
                linked,
                f"{patient.consent_version} → {current}" if pending else (patient.consent_version or "-"),
            )
        return table

    console.print(run_with_session(use_case))


@app.command("show")
def show(study_id: Annotated[str, typer.Argument(help="Study ID")]) -> None:
    """One patient: settings, plan progress and the next contacts (in the patient's time zone)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> list[object]:
        patient = await get_patient(session, study_id=study_id)
        rows = await plan_rows(session, patient_id=patient.id)
        zone = ZoneInfo(patient.timezone)
        facts = Table.grid(padding=(0, 2))
        for label, value in (
            ("study ID", patient.study_id),
            ("group", patient.group.value),
            ("status", patient.status.value + (f" ({patient.end_reason})" if patient.end_reason else "")),
            ("baseline", patient.baseline_date.isoformat()),
            ("IL-2 start", patient.il2_start.isoformat() if patient.il2_start else "-"),
            ("language", patient.language),
            ("reminder time", f"{patient.reminder_time:%H:%M} {patient.timezone}"),
            ("preventive medicines", ", ".join(patient.preventive_medicines) or "none"),
            ("telegram", "linked" if patient.telegram_chat_id else "not linked"),
            (
                "consented",
                patient.consented_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if patient.consented_at else "-",
            ),
        ):
            facts.add_row(label, value)
        progress = Table("status", *[kind.value for kind in ContactKind], title="plan")
        counts = Counter((row.kind, row.status) for row in rows)
        for status in ContactStatus:
            progress.add_row(status.value, *[str(counts[kind, status]) for kind in ContactKind])
        upcoming = Table("due (local)", "kind", "which", title="next contacts")
        now = rt.clock.now()
        for row in [row for row in rows if row.status is ContactStatus.PLANNED and row.due_at > now][:5]:
            which = (
                f"month {row.month}" if row.kind is ContactKind.CHECKIN else f"cycle {row.cycle} dose {row.dose_number}"
            )
            upcoming.add_row(row.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), row.kind.value, which)
        return [facts, progress, upcoming]

    for renderable in run_with_session(use_case):
        console.print(renderable)


@app.command("withdraw")
def withdraw_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    reason_code: Annotated[
        WithdrawalKind,
        typer.Option(
            help="stop-contact: no more messages, still followed up at clinic; withdraw-consent: no more data collected"
        ),
    ],
    note: Annotated[str | None, typer.Option(help="More detail (kept in the audit trail)")] = None,
) -> None:
    """Stop contacting a patient, or end their follow-up; every future contact is cancelled."""

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        cancelled = await withdraw(
            session, patient=patient, kind=reason_code, note=note, actor=rt.actor, now=rt.clock.now()
        )
        await session.commit()
        return cancelled

    cancelled = run_with_session(use_case)
    what = "no longer contacted (followed up at clinic)" if reason_code is WithdrawalKind.STOP_CONTACT else "withdrawn"
    typer.echo(f"{study_id} {what}; {cancelled} future contacts cancelled")


@app.command("shift-doses")
def shift(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    days: Annotated[int, typer.Option(help="Days to move every future dose (negative: earlier)")],
) -> None:
    """Move all future IL-2 dose reminders, e.g. when a cycle was delayed."""

    async def use_case(session: AsyncSession, rt: Runtime) -> int:
        patient = await get_patient(session, study_id=study_id)
        return await shift_doses(
            session, patient=patient, days=days, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )

    moved = run_with_session(use_case)
    typer.echo(f"{moved} future doses of {study_id} moved by {days:+d} days")


@app.command("add-cycles")
def add_cycles_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    cycles: Annotated[int, typer.Option(help="How many more IL-2 cycles to plan (1-20)")],
) -> None:
    """Plan more IL-2 cycles after the last planned one (the regimen is at least 3 cycles)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> list[str]:
        patient = await get_patient(session, study_id=study_id)
        rows = await add_cycles(
            session, patient=patient, cycles=cycles, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        cycles_added = f"cycles {rows[0].cycle}-{rows[-1].cycle}"
        return [f"{len(rows)} doses added to {study_id}, {cycles_added}, from {rows[0].planned_date}"]

    for line in run_with_session(use_case):
        typer.echo(line)


@app.command("preventive")
def preventive_command(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    medicines: Annotated[
        str,
        typer.Option(
            help=f"The regular preventive medicines now, comma-separated: {', '.join(PREVENTIVE_MEDICINES)}, or none"
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why it changed (kept in the audit trail)")],
) -> None:
    """Record a change of the patient's regular preventive medicines (not asked in the monthly check-in)."""

    async def use_case(session: AsyncSession, rt: Runtime) -> list[str]:
        patient = await get_patient(session, study_id=study_id)
        return await set_preventive_medicines(
            session, patient=patient, medicines=medicines, reason=reason, actor=rt.actor, now=rt.clock.now()
        )

    codes = run_with_session(use_case)
    typer.echo(f"{study_id}: preventive medicines now {', '.join(codes) or 'none'}")
