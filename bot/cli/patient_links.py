"""`followup patients reinvite`: a new one-time link for a patient whose link expired or who changed phone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.links import bot_username, check_writable, valid_until, write_qr
from bot.cli.patients import app
from bot.cli.runtime import Runtime, run_with_session
from bot.services.enrollment import get_patient
from bot.services.invites import deep_link
from bot.services.reinvites import reinvite_patient


@app.command("reinvite")
def reinvite(
    study_id: Annotated[str, typer.Argument(help="Study ID")],
    qr: Annotated[Path | None, typer.Option(help="Also write the link as a QR code PNG here")] = None,
) -> None:
    """Print a new one-time link (earlier unused ones stop working). Redeemed from another Telegram account,
    it moves the patient there and tells the old chat."""

    async def use_case(session: AsyncSession, rt: Runtime) -> tuple[str, str]:
        username = await bot_username(rt.settings)
        if qr is not None:
            check_writable(qr)
        patient = await get_patient(session, study_id=study_id)
        code = await reinvite_patient(
            session, patient=patient, protocol=rt.protocol, actor=rt.actor, now=rt.clock.now()
        )
        return f"new link for {patient.study_id}, {await valid_until(session, code=code)}", deep_link(username, code)

    summary, link = run_with_session(use_case)
    if qr is not None:
        write_qr(link, qr)
        summary += f"; QR code written to {qr}"
    typer.echo(summary, err=True)
    typer.echo(link)
