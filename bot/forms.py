"""The questionnaires as definitions: items, their kinds, options, ranges and when each is shown.

Prompts and option labels are English msgids, translated when shown. Answers are stored as option codes,
numbers or text, exactly as `bot.services.triage.Answers` expects them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.i18n import N_, Gettext
from bot.numbers import typed_number, typed_temperature
from bot.protocol import SYMPTOMS
from models import FormKind, Group


class Kind(enum.StrEnum):
    YES_NO = "yes_no"
    YES_NO_UNSURE = "yes_no_unsure"
    CHOICE = "choice"  # one of the options
    TEMPERATURE = "temperature"
    INTEGER = "integer"
    NUMBER = "number"
    DOSE = "dose"  # tablets a day, or mg a day when typed with "mg": stored as "1.5 tablets" / "7.5 mg"
    MULTI = "multi"
    TEXT = "text"


DRUGS = (
    "mycophenolate",
    "mycophenolate_sodium",
    "cyclophosphamide",
    "tacrolimus",
    "cyclosporine",
    "azathioprine",
    "methotrexate",
    "leflunomide",
    "hydroxychloroquine",
    "belimumab",
    "telitacicept",
    "rituximab",
    "sirolimus",
    "tripterygium",
    "other",
    "none",
)
HOSPITAL_REASONS = ("illness", "planned_treatment", "other")
STEROIDS = ("prednisone", "methylprednisolone", "other", "none")
IL2_REACTIONS = ("injection_site", "fever_after_dose", "flu_like", "none")
TYPED_KINDS = (Kind.TEMPERATURE, Kind.INTEGER, Kind.NUMBER, Kind.DOSE, Kind.TEXT)
Shown = Callable[[Mapping[str, Any], Group], bool]


def _always(answers: Mapping[str, Any], group: Group) -> bool:
    return True


def _answered(item_id: str, value: str) -> Shown:
    def shown(answers: Mapping[str, Any], group: Group) -> bool:
        return answers.get(item_id) == value

    return shown


def _answered_one_of(item_id: str, *values: str) -> Shown:
    def shown(answers: Mapping[str, Any], group: Group) -> bool:
        return answers.get(item_id) in values

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
    labels: Mapping[str, str] | None = None  # this item's own option labels, where the shared ones would mislead
    same_as_last: tuple[str, ...] = ()  # items one "Same as last month" tap copies from the last check-in

    def label(self, code: str) -> str:
        """The option's label (a msgid): the item's own, else the shared one."""
        return (self.labels or {}).get(code) or LABELS[code]

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
    "diarrhea": N_("Diarrhea"),
    "skin": N_("Red, hot or painful skin"),
    "shingles": N_("Shingles (painful blisters)"),
    "mouth": N_("Mouth sores or white patches"),
    "confusion": N_("Confused or talking nonsense, or so sleepy you are hard to wake"),
    "chills": N_("Chills (shaking with cold)"),
    "headache_stiff_neck": N_("Bad headache with a stiff neck"),
    "other": N_("Something else"),
    "none": N_("None of these"),
    "mycophenolate": N_("Mycophenolate mofetil"),
    "mycophenolate_sodium": N_("Mycophenolate sodium"),
    "cyclophosphamide": N_("Cyclophosphamide"),
    "tacrolimus": N_("Tacrolimus"),
    "cyclosporine": N_("Cyclosporine"),
    "azathioprine": N_("Azathioprine"),
    "methotrexate": N_("Methotrexate"),
    "leflunomide": N_("Leflunomide"),
    "hydroxychloroquine": N_("Hydroxychloroquine"),
    "belimumab": N_("Belimumab"),
    "telitacicept": N_("Telitacicept"),
    "rituximab": N_("Rituximab"),
    "sirolimus": N_("Sirolimus"),
    "tripterygium": N_("Tripterygium glycosides"),
    "illness": N_("A new illness"),
    "planned_treatment": N_("A planned treatment or test (an infusion, a biopsy)"),
    "prednisone": N_("Prednisone, 5 mg tablets"),
    "methylprednisolone": N_("Methylprednisolone (Medrol), 4 mg tablets"),
    "injection_site": N_("Redness or pain where I injected"),
    "fever_after_dose": N_("Fever after the injection"),
    "flu_like": N_("Flu-like aches or tiredness"),
}

# What clinicians read (alerts, the digest): clinical terms where the patient reads plain words, and 是/否.
CLINICAL_LABELS = {
    "yes": N_("yes"),
    "no": N_("no"),
    "not_sure": N_("not sure"),
    "cough": N_("cough"),
    "sore_throat": N_("sore throat"),
    "dyspnea": N_("dyspnea"),
    "chest_pain": N_("chest pain"),
    "urinary": N_("dysuria"),
    "diarrhea": N_("diarrhea"),
    "skin": N_("skin or soft-tissue inflammation"),
    "shingles": N_("suspected herpes zoster"),
    "mouth": N_("oral ulcers or thrush"),
    "confusion": N_("altered consciousness"),
    "chills": N_("rigors"),
    "headache_stiff_neck": N_("headache with neck stiffness"),
    "other": N_("other symptom"),
    "none": N_("none"),
}

FEVER = Item(
    id="fever",
    kind=Kind.YES_NO,
    title=N_("Fever"),
    prompt=N_("Since your last check-in, have you had a fever (temperature 37.3 °C or higher)?"),
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
    prompt=N_("Since your last check-in, have you had any of these? Tap all that apply, then tap Done."),
    options=SYMPTOMS,
)
DOCTOR_VISIT = Item(
    id="doctor_visit",
    kind=Kind.YES_NO,
    title=N_("Saw a doctor"),
    prompt=N_("Since your last check-in, have you seen a doctor because you felt unwell?"),
)
INFECTION_DIAGNOSED = Item(
    id="infection_diagnosed",
    kind=Kind.YES_NO_UNSURE,
    title=N_("Told it is an infection"),
    prompt=N_("Since your last check-in, did a doctor tell you that you have an infection?"),
)
ANTIMICROBIALS = Item(
    id="antimicrobials",
    kind=Kind.YES_NO_UNSURE,
    title=N_("Antibiotics, antivirals or antifungals for a new illness"),
    prompt=N_(
        "Since your last check-in, have you taken antibiotics, antiviral or antifungal medicine for a new illness "
        "(for example cefalexin or amoxicillin)? Do not count the preventive medicine you take regularly."
    ),
)
HOSPITALIZED = Item(
    id="hospitalized",
    kind=Kind.YES_NO,
    title=N_("Stayed in hospital"),
    prompt=N_("Since your last check-in, have you been admitted to hospital (stayed at least one night)?"),
)
HOSPITAL_REASON = Item(
    id="hospital_reason",
    kind=Kind.CHOICE,
    title=N_("Why in hospital"),
    prompt=N_("Why were you in hospital?"),
    options=HOSPITAL_REASONS,
    labels={"other": N_("Another reason")},
    shown=_answered("hospitalized", "yes"),
)
IN_HOSPITAL_NOW = Item(
    id="in_hospital_now",
    kind=Kind.YES_NO,
    title=N_("In hospital now"),
    prompt=N_("Are you in hospital now?"),
    labels={"yes": N_("Yes, I am in hospital now"), "no": N_("No, I am not in hospital now")},
    shown=_answered("hospitalized", "yes"),
)
POSITIVE_TEST = Item(
    id="positive_test",
    kind=Kind.YES_NO_UNSURE,
    title=N_("A test found a germ"),
    prompt=N_(
        "Since your last check-in, did a test (blood, urine, sputum or swab) find bacteria, a virus or a fungus "
        "for a new illness?"
    ),
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
STEROID = Item(
    id="steroid",
    kind=Kind.CHOICE,
    title=N_("Steroid"),
    prompt=N_("Which steroid tablets do you take now?"),
    options=STEROIDS,
    labels={"other": N_("Another steroid"), "none": N_("I take no steroid")},
    same_as_last=("steroid", "steroid_amount"),
)
STEROID_AMOUNT = Item(
    id="steroid_amount",
    kind=Kind.DOSE,
    title=N_("Steroid per day"),
    prompt=N_(
        "How many tablets do you take each day now? Tap a number, or type it (for example 1.5). "
        "You can also type the mg, for example 7.5 mg."
    ),
    minimum=0,
    maximum=200,
    suggestions=("0.5", "1", "1.5", "2", "3", "4", "6", "8"),
    shown=_answered_one_of("steroid", "prednisone", "methylprednisolone", "other"),
)
IMMUNOSUPPRESSANTS = Item(
    id="immunosuppressants",
    kind=Kind.MULTI,
    title=N_("Other medicines"),
    prompt=N_("Which of these medicines do you take now? Tap all that apply, then tap Done."),
    options=DRUGS,
    labels={"other": N_("Another medicine for lupus"), "none": N_("None of these medicines")},
    same_as_last=("immunosuppressants",),
)
IL2_REACTION = Item(
    id="il2_reaction",
    kind=Kind.MULTI,
    title=N_("After IL-2 injections"),
    prompt=N_(
        "Since your last check-in, after your IL-2 injections, did you have any of these? Tap all that apply, "
        "then tap Done."
    ),
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
        HOSPITAL_REASON,
        IN_HOSPITAL_NOW,
        POSITIVE_TEST,
        ORGANISM,
        STEROID,
        STEROID_AMOUNT,
        IMMUNOSUPPRESSANTS,
        IL2_REACTION,
    ),
    FormKind.REPORT: (
        replace(FEVER, prompt=N_("Do you have a fever now, or have you had one in the last few days?")),
        MAX_TEMP,
        replace(SYMPTOMS_ITEM, prompt=N_("Do you have any of these now? Tap all that apply, then tap Done.")),
        replace(DOCTOR_VISIT, prompt=N_("Have you seen a doctor about how you feel now?")),
    ),
}
PREDNISONE_MG = Item(
    id="prednisone_mg",
    kind=Kind.NUMBER,
    title=N_("Prednisone-equivalent mg per day"),
    prompt="",  # derived from steroid and steroid_amount, never asked
    minimum=0,
    maximum=200,
)
EXPORTED: tuple[Item, ...] = (*FORMS[FormKind.CHECKIN], PREDNISONE_MG)  # the checkins export's answer columns
FORM_ITEMS = {form: {item.id: item for item in items} for form, items in FORMS.items()}
ITEMS = {item.id: item for item in EXPORTED}  # the monthly check-in asks every item (exports, alerts, codebook)
# An answer whose meaning depends on follow-up questions raises no alarm while those are still to be answered.
DECIDED_BY = {"hospitalized": ("hospital_reason", "in_hospital_now")}


def visible_items(form: FormKind, answers: Mapping[str, Any], group: Group) -> list[Item]:
    return [item for item in FORMS[form] if item.shown(answers, group)]


def counted_answers(answers: Mapping[str, Any], shown: Collection[str]) -> dict[str, Any]:
    """The answers that count: to items still shown (`shown`, their ids), and not skipped (None)."""
    return {key: value for key, value in answers.items() if key in shown and value is not None}


class Invalid(ValueError):
    """Typed input that is not an acceptable answer; the message says what is accepted (a msgid)."""


_DOSE_MG = ("mg", "毫克")
_DOSE_TABLETS = ("", "片", "tablet", "tablets")
TABLET_MG = {"prednisone": 5.0, "methylprednisolone": 4.0}  # the tablets the steroid question names
PREDNISONE_PER_MG = {"prednisone": 1.0, "methylprednisolone": 1.25}  # 4 mg methylprednisolone = 5 mg prednisone


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
        Kind.DOSE: N_("Please type the number of tablets (for example 1.5) or the mg (for example 7.5 mg)."),
    }
    refused = Invalid(messages[item.kind])
    try:
        if item.kind is Kind.TEMPERATURE:
            number: float = typed_temperature(text)
            unit = ""
        else:
            digits, fraction, temperature_unit, unit = typed_number(text)
            if fraction or temperature_unit:
                raise ValueError(text)
            number = float(digits.replace(",", "."))
    except ValueError:
        raise refused from None
    if not item.minimum <= number <= item.maximum:
        raise refused
    if item.kind is Kind.INTEGER:
        if number != int(number) or unit in _DOSE_MG + _DOSE_TABLETS[1:]:
            raise refused
        return int(number)
    if item.kind is Kind.DOSE:
        if unit in _DOSE_MG:
            return f"{number:g} mg"
        if unit in _DOSE_TABLETS:
            return f"{number:g} tablets"
        raise refused
    return number


def prednisone_mg(steroid: Any, amount: Any) -> float | None:
    """The prednisone-equivalent mg a day from the steroid answer and its amount ("1.5 tablets" / "7.5 mg");
    None when it cannot be known (another steroid, or not answered)."""
    if steroid == "none":
        return 0.0
    if steroid not in PREDNISONE_PER_MG or not isinstance(amount, str):
        return None
    number, _, unit = amount.partition(" ")
    mg = float(number) * (TABLET_MG[steroid] if unit == "tablets" else 1.0)
    return round(min(mg * PREDNISONE_PER_MG[steroid], 200.0), 2)


def derived(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Values computed from the answers and stored with them: the prednisone equivalent of the steroid dose."""
    if "steroid" not in answers:
        return {}
    return {"prednisone_mg": prednisone_mg(answers.get("steroid"), answers.get("steroid_amount"))}


def option_label(item: Item, code: str, _: Gettext, *, staff: bool = False) -> str:
    """An option as the reader should see it: plain words for patients, clinical terms for staff."""
    if staff and code in CLINICAL_LABELS and not (item.labels and code in item.labels):
        return _(CLINICAL_LABELS[code])
    return _(item.label(code))


def labelled(label: str, value: str, _: Gettext) -> str:
    """ "Fever: yes" / "发烧：是" (the language's own colon)."""
    return _("{label}: {value}").format(label=label, value=value)


def answer_label(item: Item, value: Any, _: Gettext, *, staff: bool = False) -> str:
    if value is None:
        return _("(skipped)")
    if isinstance(value, list):
        # TRANSLATORS: separates the options of one answer ("Cough, Sore throat")
        return _(", ").join(option_label(item, code, _, staff=staff) for code in value)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if item.kind is Kind.TEMPERATURE and is_number:
        return _("{value} °C").format(value=f"{float(value):.1f}")
    if item.kind is Kind.NUMBER and is_number:
        return _("{mg} mg").format(mg=f"{float(value):g}")
    if item.kind is Kind.DOSE and isinstance(value, str):
        number, _space, unit = value.partition(" ")
        if unit == "mg":
            return _("{mg} mg a day").format(mg=number)
        return _("{count} tablets a day").format(count=number)
    if isinstance(value, str) and (value in LABELS or value in (item.labels or {})):
        return option_label(item, value, _, staff=staff)
    return str(value)
