"""What an escalation alert says: in the staff member's language, never a patient's name (none is stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.callbacks import Alert, Button, Rows
from bot.forms import CLINICAL_LABELS, ITEMS, answer_label, labelled
from bot.i18n import N_, Gettext, gettext_for, local_datetime
from bot.protocol import StudyProtocol
from models import DismissalReason, Escalation, Patient, PatientMessage, Site, TriageLevel

LEVEL_TITLES = {TriageLevel.URGENT: N_("🚨 URGENT"), TriageLevel.INFECTION: N_("⚠️ Suspected infection")}
DISMISSAL_LABELS = {  # "Not an infection": the coded reasons, in Telegram and in the console
    DismissalReason.SLE_FLARE: N_("SLE flare"),
    DismissalReason.IL2_REACTION: N_("IL-2 reaction"),
    DismissalReason.DRUG_FEVER: N_("Drug fever"),
    DismissalReason.OTHER_ILLNESS: N_("Another illness that looks like an infection"),
    DismissalReason.OTHER: N_("Other (type the reason)"),
}
GROUP_NAMES = {"il2": N_("IL-2 group"), "control": N_("control group")}
REASONS = {
    "hospitalized": N_("stayed in hospital"),
    "infection_diagnosed": N_("told it is an infection"),
    "antimicrobials": N_("took antibiotics, antivirals or antifungals"),
    "positive_test": N_("a test found a germ"),
    "fever": N_("fever"),
    "infection_diagnosed_not_sure": N_("not sure whether it is an infection"),
    "antimicrobials_not_sure": N_("not sure about antimicrobials"),
    "possible_il2_reaction": N_("possible reaction to IL-2"),
    "patient_message": N_("red-flag words in a message from the patient"),
    "unfinished": N_("questionnaire left unfinished"),
}


def reason_label(code: str, protocol: StudyProtocol, _: Gettext) -> str:
    rules = protocol.triage
    if code == "max_temp_urgent":
        return _("temperature {value} °C or higher").format(value=rules.urgent_temperature_c)
    if code == "max_temp_infection":
        return _("temperature {value} °C or higher").format(value=rules.infection_temperature_c)
    if code.startswith("symptom_"):
        return _(CLINICAL_LABELS[code.removeprefix("symptom_")])
    if code.startswith("fever_with_"):
        return _("fever with {symptom}").format(symptom=_(CLINICAL_LABELS[code.removeprefix("fever_with_")]))
    return _(REASONS[code]) if code in REASONS else code


def reasons_line(codes: list[str], protocol: StudyProtocol, _: Gettext) -> str:
    """The reasons, each once: "fever" is left out when a temperature reason or "fever with ..." says more."""
    said_more = any(code.startswith(("max_temp_", "fever_with_")) for code in codes)
    shown = [code for code in dict.fromkeys(codes) if not (code == "fever" and said_more)]
    # TRANSLATORS: separates the reasons of an alert
    return _("; ").join(dict.fromkeys(reason_label(code, protocol, _) for code in shown))


def alert_text(
    *,
    escalation: Escalation,
    patient: Patient,
    site: Site,
    answers: dict[str, Any],
    message: PatientMessage | None,
    last_dose: datetime | None,
    protocol: StudyProtocol,
    language: str,
    now: datetime,
) -> str:
    _ = gettext_for(language)
    minutes = int((now - escalation.raised_at).total_seconds() // 60)
    title = _(LEVEL_TITLES[escalation.level])
    group = _(GROUP_NAMES[patient.group.value])
    reasons = reasons_line(list(escalation.reasons), protocol, _)
    shown = [(ITEMS[item], value) for item, value in answers.items() if item in ITEMS]
    lines = [f"{title} · {patient.study_id} · {site.code} · {group}"]
    if escalation.acknowledged_at is not None:
        lines.insert(0, "🔔 " + _("New report since this alert was acknowledged."))
    lines.append(_("Reasons: {reasons}").format(reasons=reasons))
    if message is not None:
        lines.append(_("The patient wrote: “{text}”").format(text=message.text or "-"))
    if shown:
        lines += [
            _("Answers:"),
            *["• " + labelled(_(item.title), answer_label(item, value, _, staff=True), _) for item, value in shown],
        ]
    if minutes < 1:
        lines.append(_("Reported just now."))
    else:
        lines.append(_("Reported {minutes} min ago.").format(minutes=minutes))
    if patient.group.value == "il2":
        lines.append(
            _("Last confirmed IL-2 dose: {when}.").format(when=local_datetime(last_dose, site.timezone, language))
            if last_dose is not None
            else _("Last confirmed IL-2 dose: none.")
        )
    return "\n".join(lines)


def acknowledged_line(*, name: str, role: str, at: datetime, zone: str, language: str) -> str:
    _ = gettext_for(language)
    return "✅ " + _("Acknowledged by {name} ({role}) at {time}.").format(
        name=name, role=_(role), time=at.astimezone(ZoneInfo(zone)).strftime("%H:%M")
    )


def alert_buttons(escalation_id: int, language: str) -> Rows:
    _ = gettext_for(language)
    return [[Button("👀 " + _("Acknowledge"), Alert(escalation_id, "ack"))]]


def resolve_buttons(escalation_id: int, language: str) -> Rows:
    _ = gettext_for(language)
    return [
        [Button("🦠 " + _("Confirm infection"), Alert(escalation_id, "confirm"))],
        [Button("✖ " + _("Not an infection"), Alert(escalation_id, "dismiss"))],
    ]


def dismissal_buttons(escalation_id: int, _: Gettext) -> Rows:
    """The coded reasons for "Not an infection", one a row."""
    return [[Button(_(label), Alert(escalation_id, "no", code))] for code, label in DISMISSAL_LABELS.items()]
