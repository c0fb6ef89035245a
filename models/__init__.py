"""SQLAlchemy models, one module per aggregate. No imports from bot/ or handlers/."""

from models.audit import AuditEvent
from models.base import Base
from models.contact import ContactKind, ContactStatus, ScheduledContact
from models.escalation import DismissalReason, Escalation, EscalationNotification, EscalationStatus
from models.failed_update import FailedUpdate
from models.infection import Infection, InfectionSite, InfectionSource, Outcome, Pathogen, Treatment
from models.invite import InviteCode, InvitePurpose
from models.outbox import Lane, OutboxMessage, OutboxStatus
from models.patient import Group, Patient, PatientStatus
from models.patient_message import MessageKind, PatientMessage
from models.questionnaire import Answer, FormKind, QuestionnaireResponse, ResponseStatus
from models.site import Site
from models.staff import Staff, StaffRole
from models.triage import TriageDecision, TriageLevel
from models.update import ProcessedUpdate
from models.web import WebSession, WebSignInLink

__all__ = [
    "Answer",
    "AuditEvent",
    "Base",
    "ContactKind",
    "ContactStatus",
    "DismissalReason",
    "Escalation",
    "EscalationNotification",
    "EscalationStatus",
    "FailedUpdate",
    "FormKind",
    "Group",
    "Infection",
    "InfectionSite",
    "InfectionSource",
    "InviteCode",
    "InvitePurpose",
    "Lane",
    "MessageKind",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "Pathogen",
    "Patient",
    "PatientMessage",
    "PatientStatus",
    "ProcessedUpdate",
    "QuestionnaireResponse",
    "ResponseStatus",
    "ScheduledContact",
    "Site",
    "Staff",
    "StaffRole",
    "Treatment",
    "TriageDecision",
    "TriageLevel",
    "WebSession",
    "WebSignInLink",
]
