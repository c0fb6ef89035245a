"""The fields of a confirmed infection, defined once: the form (Telegram and the console), the CLI's options,
the export and its codebook, and the report read this table. The codes are the enums in models/infection.py;
the labels are msgids, translated where shown."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.i18n import N_
from models import InfectionSite, Outcome, Pathogen, Treatment


@dataclass(frozen=True)
class InfectionField:
    name: str  # the Infection column and the form's field
    value_type: str  # as the codebook types it: date, string, integer, boolean
    title: str  # msgid: short, on the form's buttons and the console's pages
    label: str  # msgid: the variable's label in the codebook and the report
    prompt: str  # msgid: the guided form's question
    codes: Mapping[str, str] = field(default_factory=dict)  # code → its label (msgid); none: typed or yes/no
    enum_type: type[enum.StrEnum] | None = None  # where the codes come from (the database's values)
    required: bool = True  # a record without it is refused
    many: bool = False  # one or more codes, stored as a list
    max_length: int | None = None  # a typed text's limit
    variable: str = ""  # the export's and the report's name, where it is not `name`

    @property
    def column(self) -> str:
        """Its variable in the export and the report."""
        return self.variable or self.name

    @property
    def typed(self) -> bool:
        """Typed by the clinician (a date, a free text), not chosen."""
        return not self.codes and self.value_type != "boolean"


def _labels(members: type[enum.StrEnum], labels: dict[str, str]) -> dict[str, str]:
    """The enum's codes with their labels, in the enum's order; every member needs one."""
    missing = {member.value for member in members} ^ set(labels)
    assert not missing, f"{members.__name__}: labels do not match the codes ({', '.join(sorted(missing))})"
    return {member.value: labels[member.value] for member in members}


INFECTION_FIELDS: tuple[InfectionField, ...] = (
    InfectionField(
        "onset_date",
        "date",
        title=N_("Onset"),
        label=N_("Onset date"),
        prompt=N_("When did the infection start? Tap a day, or type the date (2026-03-01, 2026/3/1 or 3月1日)."),
    ),
    InfectionField(
        "site_type",
        "string",
        title=N_("Site"),
        label=N_("Site of infection"),
        prompt=N_("Site of infection?"),
        enum_type=InfectionSite,
        codes=_labels(
            InfectionSite,
            {
                InfectionSite.UPPER_RESPIRATORY: N_("Upper respiratory"),
                InfectionSite.PNEUMONIA: N_("Pneumonia"),
                InfectionSite.URINARY: N_("Urinary tract"),
                InfectionSite.SKIN_SOFT_TISSUE: N_("Skin / soft tissue"),
                InfectionSite.HERPES_ZOSTER: N_("Herpes zoster"),
                InfectionSite.GASTROINTESTINAL: N_("Gastrointestinal"),
                InfectionSite.BLOODSTREAM: N_("Bloodstream"),
                InfectionSite.CNS: N_("Central nervous system"),
                InfectionSite.OTHER: N_("Other"),
            },
        ),
    ),
    InfectionField(
        "pathogen",
        "string",
        title=N_("Pathogen"),
        label=N_("Pathogen class"),
        prompt=N_("Type of pathogen?"),
        enum_type=Pathogen,
        codes=_labels(
            Pathogen,
            {
                Pathogen.BACTERIAL: N_("Bacterial"),
                Pathogen.VIRAL: N_("Viral"),
                Pathogen.FUNGAL: N_("Fungal"),
                Pathogen.PROTOZOAL: N_("Protozoal"),
                Pathogen.UNKNOWN: N_("Unknown"),
            },
        ),
    ),
    InfectionField(
        "organism",
        "string",
        title=N_("Organism"),
        label=N_("Organism"),
        prompt=N_("Organism found (type it), or tap Skip."),
        required=False,
        max_length=200,
    ),
    InfectionField(
        "ctcae_grade",
        "integer",
        title=N_("CTCAE grade"),
        label=N_("CTCAE grade"),
        prompt=N_("CTCAE grade (v5)?"),
        codes={  # CTCAE v5 infections: what each grade means
            "1": N_("1 · mild, no treatment needed"),
            "2": N_("2 · oral treatment"),
            "3": N_("3 · IV treatment or hospital"),
            "4": N_("4 · life-threatening"),
            "5": N_("5 · death"),
        },
    ),
    InfectionField(
        "treatments",
        "string",
        title=N_("Treatment"),
        label=N_("Treatment"),
        prompt=N_("Treatment? Tap every one given, then Done."),
        enum_type=Treatment,
        many=True,
        variable="treatment",
        codes=_labels(
            Treatment,
            {
                Treatment.NONE: N_("None"),
                Treatment.ORAL_ANTIMICROBIAL: N_("Oral antimicrobial"),
                Treatment.IV_ANTIMICROBIAL: N_("IV antimicrobial"),
                Treatment.ANTIVIRAL: N_("Antiviral"),
                Treatment.ANTIFUNGAL: N_("Antifungal"),
                Treatment.PROCEDURE: N_("Procedure"),
            },
        ),
    ),
    InfectionField(
        "hospitalized",
        "boolean",
        title=N_("Hospitalized"),
        label=N_("Hospitalized"),
        prompt=N_("Hospitalized?"),
    ),
    InfectionField(
        "outcome",
        "string",
        title=N_("Outcome"),
        label=N_("Outcome"),
        prompt=N_("Outcome so far?"),
        enum_type=Outcome,
        codes=_labels(
            Outcome,
            {
                Outcome.ONGOING: N_("Ongoing"),
                Outcome.RESOLVED: N_("Resolved"),
                Outcome.RESOLVED_WITH_SEQUELAE: N_("Resolved with sequelae"),
                Outcome.FATAL: N_("Fatal"),
                Outcome.UNKNOWN: N_("Unknown"),
            },
        ),
    ),
)
INFECTION_FIELD = {spec.name: spec for spec in INFECTION_FIELDS}
YES_NO = {"yes": N_("Yes"), "no": N_("No")}  # a boolean field's choices on the forms


def codes_help(name: str) -> str:
    """The field's codes, comma-separated (the CLI's option help)."""
    return ", ".join(INFECTION_FIELD[name].codes)
