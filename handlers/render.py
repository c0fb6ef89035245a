"""Views from the services as translated text and inline keyboards. Callback data stays under 64 bytes."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.forms import LABELS, Kind, answer_label, labelled
from bot.i18n import Gettext
from bot.services.checkins import AskItem, Summary


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(rows)


CONFIRMATION_LENGTH = 60


def confirmation(step: AskItem, _: Gettext) -> list[str]:
    """ "✔ Fever: No" above the next question: the patient sees the tap was taken (the question is edited in place)."""
    if step.recorded is None:
        return []
    item, value = step.recorded
    label = answer_label(item, value, _)
    if len(label) > CONFIRMATION_LENGTH:
        label = label[: CONFIRMATION_LENGTH - 1] + "…"
    return ["✔ " + labelled(_(item.title), label, _)]


def question(step: AskItem, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    item = step.item
    lines = [*confirmation(step, _), f"({step.number}/{step.total}) {_(item.prompt)}"]
    if step.problem:
        lines.insert(0, "⚠️ " + _(step.problem).format(minimum=f"{item.minimum:g}", maximum=f"{item.maximum:g}"))
    prefix = f"q|{step.response_id}|{item.id}|"
    rows: list[list[InlineKeyboardButton]] = []
    if step.same_as_last:
        rows.append([button("🔁 " + _("Same as last month"), prefix + "same")])
    if item.kind in (Kind.YES_NO, Kind.YES_NO_UNSURE) and not item.labels:
        rows.append([button(_(item.label(code)), prefix + code) for code in item.choices()])
    elif item.kind in (Kind.YES_NO, Kind.YES_NO_UNSURE, Kind.CHOICE):
        rows += [[button(_(item.label(code)), prefix + code)] for code in item.choices()]
    elif item.kind is Kind.MULTI:
        for code in item.options:
            mark = "✅ " if code in step.selected else ""
            rows.append([button(mark + _(item.label(code)), prefix + code)])
        rows.append([button(_("Done ✔"), prefix + "done")])
    elif item.kind is Kind.TEMPERATURE:
        not_measured = LABELS["not_measured"]
        rows.append([button(_(not_measured), prefix + "not_measured")])
    elif item.kind in (Kind.NUMBER, Kind.DOSE) and item.suggestions:
        rows.append([button(value, prefix + value) for value in item.suggestions[:4]])
        rows.append([button(value, prefix + value) for value in item.suggestions[4:]])
    elif item.kind is Kind.TEXT and item.optional:
        rows.append([button(_("Skip"), prefix + "skip")])
    if step.number > 1:
        rows.append([button("⬅ " + _("Back"), f"qb|{step.response_id}")])
    return "\n\n".join(lines), keyboard(rows)


def summary(step: Summary, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    answers = "\n".join("• " + labelled(_(item.title), answer_label(item, value, _), _) for item, value in step.answers)
    rows = [
        [button("✅ " + _("Submit"), f"qs|{step.response_id}")],
        [button("✏️ " + _("Edit"), f"qe|{step.response_id}")],
    ]
    return "\n\n".join([_("Please check your answers:"), answers]), keyboard(rows)


def edit_menu(step: Summary, _: Gettext) -> InlineKeyboardMarkup:
    rows = [[button(_(item.title), f"qi|{step.response_id}|{item.id}")] for item, _value in step.answers]
    return keyboard(rows)


def view(step: AskItem | Summary, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    return question(step, _) if isinstance(step, AskItem) else summary(step, _)
