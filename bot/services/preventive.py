"""Regular preventive medicines (PJP, hepatitis B, tuberculosis prophylaxis): a patient attribute recorded at
enrollment and when it changes, never asked monthly, so a patient on TMP-SMX does not raise an infection alert
every month. The monthly question asks about antimicrobials *for a new illness* instead."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services.audit import record_event
from bot.services.errors import DomainError
from models import Patient

NONE = "none"
PREVENTIVE_LABELS = {  # for the codebook and the report (staff): clinical terms
    "tmp_smx": N_("trimethoprim-sulfamethoxazole (PJP prophylaxis)"),
    "entecavir": N_("entecavir (HBV prophylaxis)"),
    "tenofovir": N_("tenofovir (HBV prophylaxis)"),
    "isoniazid": N_("isoniazid (latent TB)"),
    "antifungal": N_("antifungal prophylaxis"),
    "antiviral": N_("antiviral prophylaxis (e.g. valaciclovir)"),
    "other": N_("other preventive medicine"),
}
PREVENTIVE_MEDICINES = tuple(PREVENTIVE_LABELS)


def parse_preventive(text: str | list[str] | None) -> list[str]:
    """ "tmp_smx,entecavir" / "tmp_smx; isoniazid" / "none" / "" as codes in the list's order, or ValueError."""
    if text is None:
        return []
    parts = text if isinstance(text, list) else text.replace(";", ",").replace(" ", ",").split(",")
    codes = [part.strip().lower() for part in parts if part.strip()]
    if codes == [NONE]:
        return []
    unknown = [code for code in codes if code not in PREVENTIVE_MEDICINES]
    if unknown:
        raise ValueError(f"unknown medicine(s) {', '.join(unknown)}; use {', '.join(PREVENTIVE_MEDICINES)} or none")
    return sorted(set(codes), key=PREVENTIVE_MEDICINES.index)


async def set_preventive_medicines(
    session: AsyncSession, *, patient: Patient, medicines: str, reason: str, actor: str, now: datetime
) -> list[str]:
    """Record the patient's regular preventive medicines as they are now (audited, with the reason)."""
    try:
        codes = parse_preventive(medicines)
    except ValueError as error:
        raise DomainError(f"medicines: {error}") from None
    if not reason.strip():
        raise DomainError("reason: say why it changed")
    before = list(patient.preventive_medicines)
    if codes == before:
        raise DomainError(f"{patient.study_id}: preventive medicines are already {', '.join(codes) or 'none'}")
    patient.preventive_medicines = codes
    record_event(
        session,
        actor=actor,
        action="patient.preventive_medicines",
        entity=patient,
        at=now,
        before={"preventive_medicines": before},
        after={"preventive_medicines": codes, "reason": reason.strip()},
    )
    await session.commit()
    return codes
