from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum
from models.triage import TriageLevel


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"  # ended as a recorded infection
    DISMISSED = "dismissed"  # "not an infection", with a reason


class DismissalReason(enum.StrEnum):
    """Why a clinician found it was not an infection (coded; "other" comes with typed text)."""

    SLE_FLARE = "sle_flare"
    IL2_REACTION = "il2_reaction"
    DRUG_FEVER = "drug_fever"
    OTHER_ILLNESS = "other_illness"  # another illness that looks like an infection
    OTHER = "other"


class Escalation(Base):
    """A suspected infection travelling up the site's chain until someone acknowledges it.

    At most one unresolved escalation per patient: a new trigger updates it (partial unique index).
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index(
            "uq_escalations_patient_id_unresolved",
            "patient_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'acknowledged')"),
            postgresql_where=text("status IN ('open', 'acknowledged')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    level: Mapped[TriageLevel] = mapped_column(str_enum(TriageLevel, 12))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire_responses.id"))
    status: Mapped[EscalationStatus] = mapped_column(str_enum(EscalationStatus, 12))
    raised_at: Mapped[datetime]  # the first report: never changed, so minutes-to-acknowledge stay true
    level_raised_at: Mapped[datetime | None]  # when the level last rose (the chain restarts from here)
    patient_message_id: Mapped[int | None] = mapped_column(ForeignKey("patient_messages.id"))
    stage: Mapped[int] = mapped_column(default=0)
    repeats: Mapped[int] = mapped_column(default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    dismissal_code: Mapped[DismissalReason | None] = mapped_column(str_enum(DismissalReason, 16))


class EscalationNotification(Base):
    """One alert message sent to one staff member, kept so it can be edited on acknowledgement."""

    __tablename__ = "escalation_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    stage: Mapped[int]
    outbox_key: Mapped[str] = mapped_column(String(120), unique=True)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
