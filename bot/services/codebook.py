"""The export datasets' columns and their codebook: a label in each of the bot's languages, type, allowed codes.

Labels are English msgids (`N_`), shown in each language through its catalog, so a language added as a catalog
gets its own label column (`label_<code>`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from bot.forms import EXPORTED, ITEMS, Kind
from bot.i18n import N_, SOURCE_LANGUAGE, Gettext, gettext_for, languages, telegram_language
from bot.infection_fields import INFECTION_FIELDS, InfectionField
from bot.roles import ACKNOWLEDGING_ROLES
from bot.services.deviations import KINDS as DEVIATION_KINDS
from bot.services.preventive import PREVENTIVE_LABELS
from models import PatientStatus

LEVELS = {
    "none": N_("none"),
    "review": N_("review"),
    "infection": N_("suspected infection"),
    "urgent": N_("urgent"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, number, boolean, date, datetime
    label: str  # an English msgid; with `parts`, a msgid whose {placeholders} are filled with their msgids
    codes: Mapping[str, str | None] = field(default_factory=dict)  # code -> its label msgid (None: the code itself)
    parts: dict[str, str] = field(default_factory=dict)

    def label_in(self, _: Gettext) -> str:
        if not self.parts:
            return _(self.label)
        return _(self.label).format(**{name: _(part) for name, part in self.parts.items()})


class _LanguageCodes(Mapping[str, str | None]):
    """The bot's languages as codes that label themselves, read when the codebook is written."""

    def __getitem__(self, code: str) -> None:
        if code not in languages():
            raise KeyError(code)

    def __iter__(self) -> Iterator[str]:
        return iter(languages())

    def __len__(self) -> int:
        return len(languages())


def _enum(*values: str) -> dict[str, str | None]:
    """Codes that label themselves in every language."""
    return dict.fromkeys(values)


STUDY_ID = Column("study_id", "string", N_("Study ID (pseudonymous)"))
CORRECTED = Column("corrected", "boolean", N_("Changed after entry, with a reason (see audit)"))
SITE = Column("site", "string", N_("Site code"))
GROUP = Column(
    "group",
    "string",
    N_("Group"),
    {"il2": N_("low-dose IL-2"), "control": N_("control")},
)
YES_NO = {"yes": N_("yes"), "no": N_("no")}
YES_NO_UNSURE = {**YES_NO, "not_sure": N_("not sure")}
FLAG = {"1": N_("yes"), "0": N_("no")}


PREFIXES = {"immunosuppressants": "drug"}  # Stata allows 32 characters for a variable name


def column_prefix(item_id: str) -> str:
    return PREFIXES.get(item_id, item_id)


def _item_columns() -> list[Column]:
    columns: list[Column] = []
    for item in EXPORTED:
        title = item.title
        if item.kind is Kind.MULTI:
            columns += [
                Column(
                    f"{column_prefix(item.id)}_{code}",
                    "integer",
                    N_("{question}: {option}"),
                    FLAG,
                    parts={"question": title, "option": item.label(code)},
                )
                for code in item.options
            ]
        elif item.kind is Kind.YES_NO:
            columns.append(Column(item.id, "string", title, YES_NO))
        elif item.kind is Kind.YES_NO_UNSURE:
            columns.append(Column(item.id, "string", title, YES_NO_UNSURE))
        elif item.kind is Kind.CHOICE:
            codes = {code: item.label(code) for code in item.options}
            columns.append(Column(item.id, "string", title, codes))
        elif item.kind is Kind.TEMPERATURE:
            columns.append(Column(item.id, "number", N_("{question} (°C)"), parts={"question": title}))
            columns.append(Column(f"{item.id}_not_measured", "integer", N_("Temperature not measured"), FLAG))
        elif item.kind is Kind.INTEGER:
            columns.append(Column(item.id, "integer", title))
        elif item.kind is Kind.NUMBER:
            columns.append(Column(item.id, "number", title))
        else:
            columns.append(Column(item.id, "string", title))
    return columns


def _infection_column(spec: InfectionField) -> Column:
    if spec.many:
        return Column(
            spec.column, spec.value_type, N_("{question} (codes ; separated)"), spec.codes, {"question": spec.label}
        )
    return Column(spec.column, spec.value_type, spec.label, spec.codes)


def _infection_columns(*, through: str = "", after: str = "") -> list[Column]:
    """The infection fields up to `through` (included), or those after `after` (the CTCAE version goes beside
    the grade)."""
    names = [spec.name for spec in INFECTION_FIELDS]
    chosen = INFECTION_FIELDS[: names.index(through) + 1] if through else INFECTION_FIELDS[names.index(after) + 1 :]
    return [_infection_column(spec) for spec in chosen]


DATASETS: dict[str, list[Column]] = {
    "patients": [
        STUDY_ID,
        SITE,
        GROUP,
        Column(
            "status",
            "string",
            N_("Follow-up status"),
            _enum(*(status.value for status in PatientStatus)),
        ),
        Column("baseline_date", "date", N_("Baseline (enrollment) date")),
        Column("il2_start", "date", N_("First IL-2 cycle start")),
        Column("language", "string", N_("Language"), _LanguageCodes()),
        Column("timezone", "string", N_("Time zone")),
        Column("consented_at", "datetime", N_("Consent given in Telegram (UTC)")),
        Column("consent_version", "string", N_("Consent text version agreed to")),
        Column("consent_language", "string", N_("Language the consent text was shown in")),
        Column("consent_text_sha256", "string", N_("SHA-256 of the exact consent text shown")),
        Column("unreachable", "boolean", N_("Cannot be reached in Telegram")),
        Column("ended_at", "datetime", N_("Follow-up ended (UTC)")),
        Column("end_reason", "string", N_("Why follow-up ended")),
        Column("died_on", "date", N_("Date of death")),
        Column(
            "preventive_medicines",
            "string",
            N_("Regular preventive medicines (;-separated)"),
            dict(PREVENTIVE_LABELS),
        ),
    ],
    "checkins": [
        STUDY_ID,
        SITE,
        GROUP,
        Column("response_id", "integer", N_("Response number")),
        Column(
            "form",
            "string",
            N_("Form"),
            {"checkin": N_("monthly check-in"), "report": N_("symptom report")},
        ),
        Column("month", "integer", N_("Follow-up month (check-ins)")),
        Column("submitted_at", "datetime", N_("Submitted (UTC)")),
        Column(
            "late",
            "boolean",
            N_("Submitted after the check-in's window closed (kept and triaged, not on time)"),
        ),
        Column(
            "partial",
            "boolean",
            N_("Left unfinished and submitted by the system because its answers needed an alert"),
        ),
        Column("triage_level", "string", N_("Triage level"), LEVELS),
        Column("triage_reasons", "string", N_("Triage reasons (codes, ; separated)")),
        *_item_columns(),
    ],
    "answers": [
        STUDY_ID,
        Column("response_id", "integer", N_("Response number")),
        Column("form", "string", N_("Form"), _enum("checkin", "report")),
        Column(
            "response_status",
            "string",
            N_("Response status"),
            _enum("in_progress", "submitted", "abandoned"),
        ),
        Column(
            "item_id",
            "string",
            N_("Question"),
            {item.id: item.title for item in ITEMS.values()},
        ),
        Column("value", "string", N_("Answer (codes ; separated, numbers as typed)")),
        Column("typed", "string", N_("What the patient typed, before it was read as the value")),
        Column("answered_at", "datetime", N_("Answered (UTC)")),
        CORRECTED,
    ],
    "doses": [
        STUDY_ID,
        SITE,
        Column("cycle", "integer", N_("IL-2 cycle")),
        Column("dose", "integer", N_("Dose within the cycle")),
        Column("planned_date", "date", N_("Planned date (patient's zone)")),
        Column(
            "status",
            "string",
            N_("Status"),
            _enum("planned", "open", "taken", "skipped", "unconfirmed", "missed", "cancelled", "paused"),
        ),
        Column("confirmed_at", "datetime", N_("Answered by the patient (UTC)")),
        Column("reminders_sent", "integer", N_("Reminders sent")),
        Column("snoozes", "integer", N_("Times 'remind me later'")),
    ],
    "escalations": [
        STUDY_ID,
        SITE,
        GROUP,
        Column("escalation_id", "integer", N_("Escalation number")),
        Column("raised_at", "datetime", N_("Raised: first report (UTC)")),
        Column(
            "level_raised_at",
            "datetime",
            N_("Chain last (re)started (UTC): level raised, or a new urgent report after acknowledgement"),
        ),
        Column("level", "string", N_("Level"), LEVELS),
        Column("reasons", "string", N_("Reasons (codes, ; separated)")),
        Column("acknowledged_at", "datetime", N_("Acknowledged (UTC)")),
        Column(
            "acknowledged_by_role",
            "string",
            N_("Role of who acknowledged"),
            _enum(*ACKNOWLEDGING_ROLES),
        ),
        Column("minutes_to_acknowledge", "number", N_("Minutes to acknowledge")),
        Column(
            "outcome", "string", N_("Outcome of the alert"), _enum("open", "acknowledged", "confirmed", "dismissed")
        ),
        Column(
            "dismissal_code",
            "string",
            N_("Why it was not an infection (coded)"),
            {
                "sle_flare": N_("SLE flare"),
                "il2_reaction": N_("IL-2 reaction"),
                "drug_fever": N_("drug fever"),
                "other_illness": N_("another illness that looks like an infection"),
                "other": N_("other (see resolution_reason)"),
            },
        ),
        Column("resolution_reason", "string", N_("Reason given for 'not an infection'")),
    ],
    "infections": [
        Column("infection_id", "integer", N_("Infection number (for corrections)")),
        STUDY_ID,
        SITE,
        GROUP,
        *_infection_columns(through="ctcae_grade"),
        Column("ctcae_version", "string", N_("CTCAE version of the grade")),
        *_infection_columns(after="ctcae_grade"),
        Column(
            "source",
            "string",
            N_("Found through"),
            {"bot": N_("bot alert"), "clinic": N_("clinic visit")},
        ),
        Column(
            "first_infection",
            "boolean",
            N_("Patient's first confirmed infection (earliest onset; void ones not counted)"),
        ),
        Column("recorded_at", "datetime", N_("Recorded (UTC)")),
        CORRECTED,
        Column("voided_at", "datetime", N_("Voided as entered in error (UTC)")),
        Column("void_reason", "string", N_("Why it was voided")),
    ],
    "deviations": [
        STUDY_ID,
        SITE,
        Column("kind", "string", N_("What deviated from the plan"), DEVIATION_KINDS),
        Column("date", "date", N_("When (the planned day, or the day it happened)")),
        Column("detail", "string", N_("Which contact, or what changed")),
    ],
    "audit": [
        Column("occurred_at", "datetime", N_("When (UTC)")),
        Column("actor", "string", N_("Who (cli:user, patient:ID, staff:N, system)")),
        Column("action", "string", N_("What was done")),
        Column("record", "string", N_("Which record (table)")),
        Column("record_id", "string", N_("Record number")),
        Column("study_id", "string", N_("Study ID, for a patient record")),
        Column("before", "string", N_("Values before (JSON)")),
        Column("after", "string", N_("Values after (JSON)")),
        Column("reason", "string", N_("Reason given")),
    ],
}

FREE_TEXT_NOTE = N_(
    "Free text. In CSV and xlsx, a text starting with = + - @, a tab or a carriage return is prefixed with ' "
    "so that no spreadsheet runs it as a formula; Parquet and Stata keep the text as typed."
)


def label_languages() -> list[str]:
    """The codebook's languages: the source language (English) first, then the others of the bot."""
    return [SOURCE_LANGUAGE, *(language for language in languages() if language != SOURCE_LANGUAGE)]


def label_column(language: str) -> str:
    """`label_<language>`, the language as Telegram names it (label_zh) unless two of ours share that name."""
    short = telegram_language(language)
    shared = [other for other in languages() if telegram_language(other) == short]
    return f"label_{short if len(shared) == 1 else language}"


def codebook_columns() -> list[str]:
    return ["dataset", "variable", *(label_column(language) for language in label_languages()), "type", "codes", "note"]


def is_free_text(column: Column) -> bool:
    """A text column without a fixed set of codes: what a person typed (an organism, a reason, an answer)."""
    return column.type == "string" and not column.codes


def codebook_rows() -> list[dict[str, str]]:
    """One row a variable: its label in each language, its codes labelled in each language (`code=en / zh`),
    and the free-text note in each language."""
    translators = {label_column(language): gettext_for(language) for language in label_languages()}

    def each(label: str | None, code: str = "") -> str:
        return " / ".join(_(label) if label is not None else code for _ in translators.values())

    return [
        {
            "dataset": name,
            "variable": column.name,
            **{name: column.label_in(_) for name, _ in translators.items()},
            "type": column.type,
            "codes": "; ".join(f"{code}={each(label, code)}" for code, label in column.codes.items()),
            "note": each(FREE_TEXT_NOTE) if is_free_text(column) else "",
        }
        for name, columns in DATASETS.items()
        for column in columns
    ]
