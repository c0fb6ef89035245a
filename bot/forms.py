"""The questionnaires as definitions: items, their kinds, options, ranges and when each is shown.

Prompts and option labels are English msgids, translated when shown. Answers are stored as option codes,
numbers or text, exactly as `bot.services.triage.Answers` expects them.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import N_, Gettext
from bot.protocol import SYMPTOMS
from bot.services.triage import DRUGS, IL2_REACTIONS
from models import FormKind, Group


class Kind(enum.StrEnum):
    YES_NO = "yes_no"
    YES_NO_UNSURE = "yes_no_unsure"
    TEMPERATURE = "temperature"
    INTEGER = "integer"
    NUMBER = "number"
    MULTI = "multi"
    TEXT = "text"


TYPED_KINDS = (Kind.TEMPERATURE, Kind.INTEGER, Kind.NUMBER, Kind.TEXT)
Shown = Callable[[Mapping[str, Any], Group], bool]


def _always(answers: Mapping[str, Any], group: Group) -> bool:
    return True


def _answered(item_id: str, value: str) -> Shown:
    def shown(answers: Mapping[str, Any], group: Group) -> bool:
        return answers.get(item_id) == value

    return shown


def _il2_only(answers: Mapping[str, Any], group: Group) -> bool:
    return group is Group.IL2


@dataclass(frozen=True)
class Item:
    id: str
    kind: Kind
    title: str  # short, for the summary
    prompt: str
    options: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()  # one-tap values for a number item
    minimum: float = 0
    maximum: float = 0
    optional: bool = False
    shown: Shown = _always

    def choices(self) -> tuple[str, ...]:
        if self.kind is Kind.YES_NO:
            return ("yes", "no")
        if self.kind is Kind.YES_NO_UNSURE:
            return ("yes", "no", "not_sure")
        if self.kind is Kind.TEMPERATURE:
            return ("not_measured",)
        return self.options or self.suggestions


LABELS = {
    "yes": N_("Yes"),
    "no": N_("No"),
    "not_sure": N_("Not sure"),
    "not_measured": N_("I did not measure it"),
    "cough": N_("Cough"),
    "sore_throat": N_("Sore throat"),
    "dyspnea": N_("Short of breath"),
    "chest_pain": N_("Chest pain"),
    "urinary": N_("Pain or burning when passing urine"),
    "diarrhea": N_("Diarrhoea"),
    "skin": N_("Red, hot or painful skin"),
    "shingles": N_("Shingles (painful blisters)"),
    "mouth": N_("Mouth sores or white patches"),
    "confusion": N_("Confusion or very drowsy"),
    "other": N_("Something else"),
    "none": N_("None of these"),
    "mycophenolate": N_("Mycophenolate"),
    "cyclophosphamide": N_("Cyclophosphamide"),
    "tacrolimus": N_("Tacrolimus"),
    "cyclosporine": N_("Cyclosporine"),
    "azathioprine": N_("Azathioprine"),
    "methotrexate": N_("Methotrexate"),
    "leflunomide": N_("Leflunomide"),
    "hydroxychloroquine": N_("Hydroxychloroquine"),
    "belimumab": N_("Belimumab"),
    "rituximab": N_("Rituximab"),
    "injection_site": N_("Redness or pain where I injected"),
    "fever_after_dose": N_("Fever after the injection"),
    "flu_like": N_("Flu-like aches or tiredness"),
}

FEVER = Item(
    id="fever",
    kind=Kind.YES_NO,
    title=N_("Fever"),
    prompt=N_("Have you had a fever (temperature 37.3 °C or higher)?"),
)
MAX_TEMP = Item(
    id="max_temp",
    kind=Kind.TEMPERATURE,
    title=N_("Highest temperature"),
    prompt=N_("What was your highest temperature? Type it, for example 38.5."),
    minimum=35.0,
    maximum=42.5,
    shown=_answered("fever", "yes"),
)
FEVER_DAYS = Item(
    id="fever_days",
    kind=Kind.INTEGER,
    title=N_("Days with fever"),
    prompt=N_("For how many days did you have a fever? Type a number."),
    minimum=1,
    maximum=60,
    shown=_answered("fever", "yes"),
)
SYMPTOMS_ITEM = Item(
    id="symptoms",
    kind=Kind.MULTI,
    title=N_("Symptoms"),
    prompt=N_("Have you had any of these? Tap all that apply, then tap Done."),
    options=SYMPTOMS,
)
DOCTOR_VISIT = Item(
    id="doctor_visit",
    kind=Kind.YES_NO,
    title=N_("Saw a doctor"),
    prompt=N_("Have you seen a doctor because you felt unwell?"),
)
INFECTION_DIAGNOSED = Item(
    id="infection_diagnosed",
    kind=Kind.YES_NO_UNSURE,
    title=N_("Told it is an infection"),
    prompt=N_("Did a doctor tell you that you have an infection?"),
)
ANTIMICROBIALS = Item(
    id="antimicrobials",
    kind=Kind.YES_NO_UNSURE,
    title=N_("Antibiotics, antivirals or antifungals"),
    prompt=N_("Have you taken antibiotics, antiviral or antifungal medicine?"),
)
HOSPITALIZED = Item(
    id="hospitalized",
    kind=Kind.YES_NO,
    title=N_("Stayed in hospital"),
    prompt=N_("Have you stayed in hospital?"),
)
POSITIVE_TEST = Item(
    id="positive_test",
    kind=Kind.YES_NO_UNSURE,
    title=N_("A test found a germ"),
    prompt=N_("Did a test (blood, urine, sputum or swab) find a germ?"),
)
ORGANISM = Item(
    id="organism",
    kind=Kind.TEXT,
    title=N_("Germ found"),
    prompt=N_("If you know the name of the germ, type it. Otherwise tap Skip."),
    maximum=200,
    optional=True,
    shown=_answered("positive_test", "yes"),
)
PREDNISONE = Item(
    id="prednisone_mg",
    kind=Kind.NUMBER,
    title=N_("Prednisone mg per day"),
    prompt=N_(
        "How many mg of prednisone (or the same steroid) do you take each day now? Tap a number or type it, for example 12.5."
    ),
    minimum=0,
    maximum=200,
    suggestions=("0", "2.5", "5", "7.5", "10", "15", "20", "30"),
)
IMMUNOSUPPRESSANTS = Item(
    id="immunosuppressants",
    kind=Kind.MULTI,
    title=N_("Other medicines"),
    prompt=N_("Which of these medicines do you take now? Tap all that apply, then tap Done."),
    options=DRUGS,
)
IL2_REACTION = Item(
    id="il2_reaction",
    kind=Kind.MULTI,
    title=N_("After IL-2 injections"),
    prompt=N_("After your IL-2 injections, did you have any of these? Tap all that apply, then tap Done."),
    options=IL2_REACTIONS,
    shown=_il2_only,
)

FORMS: dict[FormKind, tuple[Item, ...]] = {
    FormKind.CHECKIN: (
        FEVER,
        MAX_TEMP,
        FEVER_DAYS,
        SYMPTOMS_ITEM,
        DOCTOR_VISIT,
        INFECTION_DIAGNOSED,
        ANTIMICROBIALS,
        HOSPITALIZED,
        POSITIVE_TEST,
        ORGANISM,
        PREDNISONE,
        IMMUNOSUPPRESSANTS,
        IL2_REACTION,
    ),
    FormKind.REPORT: (FEVER, MAX_TEMP, SYMPTOMS_ITEM, DOCTOR_VISIT),
}
ITEMS = {item.id: item for items in FORMS.values() for item in items}


def visible_items(form: FormKind, answers: Mapping[str, Any], group: Group) -> list[Item]:
    return [item for item in FORMS[form] if item.shown(answers, group)]


class Invalid(ValueError):
    """Typed input that is not an acceptable answer; the message says what is accepted (a msgid)."""


_NUMBER = re.compile(r"^(\d{1,3}(?:[.,]\d{1,2})?)\s*(°?\s*[cf]|度|℃|℉|mg|毫克|天|days?)?$", re.IGNORECASE)


def _number(text: str) -> tuple[float, str]:
    cleaned = unicodedata.normalize("NFKC", text).strip().lower().replace("。", ".")
    match = _NUMBER.match(cleaned)
    if match is None:
        raise Invalid
    unit = (match.group(2) or "").replace("°", "").replace(" ", "")
    return float(match.group(1).replace(",", ".")), unit


def parse_typed(item: Item, text: str) -> float | int | str:
    """Turn what a patient typed into a stored value, or raise Invalid (with what is accepted)."""
    if item.kind is Kind.TEXT:
        value = " ".join(text.split())
        if not value or len(value) > item.maximum:
            raise Invalid(N_("Please type up to {maximum} characters, or tap Skip."))
        return value
    messages = {
        Kind.TEMPERATURE: N_(
            "Please type a temperature between 35.0 and 42.5 °C (for example 38.5), or tap “I did not measure it”."
        ),
        Kind.INTEGER: N_("Please type a whole number from {minimum} to {maximum}."),
        Kind.NUMBER: N_("Please type a number from {minimum} to {maximum} (for example 7.5)."),
    }
    try:
        number, unit = _number(text)
    except Invalid:
        raise Invalid(messages[item.kind]) from None
    if item.kind is Kind.TEMPERATURE:
        if unit in ("f", "℉") or (not unit and 95 <= number <= 108):
            number = (number - 32) * 5 / 9
        number = round(number, 1)
    elif item.kind is Kind.INTEGER:
        if number != int(number):
            raise Invalid(messages[item.kind])
        number = int(number)
    if not item.minimum <= number <= item.maximum:
        raise Invalid(messages[item.kind])
    return number


def answer_label(item: Item, value: Any, _: Gettext) -> str:
    if value is None:
        return _("(skipped)")
    if isinstance(value, list):
        return ", ".join(_(LABELS[code]) for code in value)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if item.kind is Kind.TEMPERATURE and is_number:
        return f"{float(value):.1f} °C"
    if item.kind is Kind.NUMBER and is_number:
        return f"{float(value):g} mg"
    if isinstance(value, str) and value in LABELS:
        return _(LABELS[value])
    return str(value)
