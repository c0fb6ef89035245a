"""Names the console shows for codes (translated where shown)."""

from __future__ import annotations

from bot.i18n import N_
from bot.services.board import BoardSort, Cell
from bot.services.patient_status import WithdrawalKind
from models import ContactStatus, EscalationStatus, FormKind, PatientStatus, TriageLevel

CELL_NAMES = {
    Cell.ON_TIME: N_("on time"),
    Cell.LATE: N_("late"),
    Cell.PARTIAL: N_("partial"),
    Cell.MISSED: N_("missed"),
    Cell.DUE_NOW: N_("due now"),
    Cell.UPCOMING: N_("upcoming"),
    Cell.NOT_APPLICABLE: N_("not applicable (follow-up ended)"),
}
CELL_MARKS = {
    Cell.ON_TIME: "✓",
    Cell.LATE: "L",
    Cell.PARTIAL: "P",
    Cell.MISSED: "✗",
    Cell.DUE_NOW: "!",
    Cell.UPCOMING: "·",
    Cell.NOT_APPLICABLE: "–",
}
STATUS_NAMES = {
    PatientStatus.ENROLLED: N_("enrolled, not linked yet"),
    PatientStatus.ACTIVE: N_("in follow-up"),
    PatientStatus.DECLINED: N_("declined"),
    PatientStatus.WITHDRAWN: N_("withdrawn"),
    PatientStatus.INFECTED: N_("ended: infection"),
    PatientStatus.COMPLETED: N_("completed"),
    PatientStatus.CLINIC_ONLY: N_("no messages: clinic visits only"),
    PatientStatus.DIED: N_("ended: died"),
    PatientStatus.LOST: N_("lost to follow-up"),
}
assert set(STATUS_NAMES) == set(PatientStatus), "every status has a label on the board"
SORT_NAMES = {
    BoardSort.STUDY_ID: N_("study ID"),
    BoardSort.ENROLLED: N_("newest enrolled first"),
    BoardSort.STATUS: N_("status"),
}
LEVEL_NAMES = {
    TriageLevel.NONE: N_("no concern"),
    TriageLevel.REVIEW: N_("to review"),
    TriageLevel.INFECTION: N_("suspected infection"),
    TriageLevel.URGENT: N_("urgent"),
}
CONTACT_STATUS_NAMES = {
    ContactStatus.PLANNED: N_("planned"),
    ContactStatus.OPEN: N_("sent, waiting"),
    ContactStatus.DONE: N_("answered"),
    ContactStatus.TAKEN: N_("taken"),
    ContactStatus.SKIPPED: N_("skipped"),
    ContactStatus.UNCONFIRMED: N_("unconfirmed"),
    ContactStatus.MISSED: N_("missed"),
    ContactStatus.CANCELLED: N_("cancelled (follow-up ended)"),
    ContactStatus.PAUSED: N_("paused during an alert"),
}
ESCALATION_STATUS_NAMES = {
    EscalationStatus.OPEN: N_("open"),
    EscalationStatus.ACKNOWLEDGED: N_("acknowledged"),
    EscalationStatus.CONFIRMED: N_("confirmed infection"),
    EscalationStatus.DISMISSED: N_("not an infection"),
}
FORM_NAMES = {FormKind.CHECKIN: N_("Monthly check-in"), FormKind.REPORT: N_("Symptom report")}
WITHDRAWAL_NAMES = {
    WithdrawalKind.STOP_CONTACT: N_("Stop contact: no more messages, still followed up at clinic visits"),
    WithdrawalKind.WITHDRAW_CONSENT: N_("Withdraw consent: no more data collected"),
}
