"""Views from the services as translated text and inline keyboards. Callback data stays under 64 bytes."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.callbacks import Back, Button, Choose, EditAnswers, EditItem, Rows, Submit
from bot.delivery.keyboards import inline_keyboard
from bot.forms import LABELS, Kind, answer_label, labelled
from bot.i18n import Gettext
from bot.services.checkins import AskItem, Summary


def keyboard(rows: Rows) -> InlineKeyboardMarkup:
    return inline_keyboard([(shown.label, shown.tap.data()) for shown in row] for row in rows)


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
    rows: Rows = []

    def choose(code: str) -> Choose:
        return Choose(step.response_id, item.id, code)

    if step.same_as_last:
        rows.append([Button("🔁 " + _("Same as last month"), choose("same"))])
    if item.kind in (Kind.YES_NO, Kind.YES_NO_UNSURE) and not item.labels:
        rows.append([Button(_(item.label(code)), choose(code)) for code in item.choices()])
    elif item.kind in (Kind.YES_NO, Kind.YES_NO_UNSURE, Kind.CHOICE):
        rows += [[Button(_(item.label(code)), choose(code))] for code in item.choices()]
    elif item.kind is Kind.MULTI:
        for code in item.options:
            mark = "✅ " if code in step.selected else ""
            rows.append([Button(mark + _(item.label(code)), choose(code))])
        rows.append([Button(_("Done ✔"), choose("done"))])
    elif item.kind is Kind.TEMPERATURE:
        not_measured = LABELS["not_measured"]
        rows.append([Button(_(not_measured), choose("not_measured"))])
    elif item.kind in (Kind.NUMBER, Kind.DOSE) and item.suggestions:
        rows.append([Button(value, choose(value)) for value in item.suggestions[:4]])
        rows.append([Button(value, choose(value)) for value in item.suggestions[4:]])
    elif item.kind is Kind.TEXT and item.optional:
        rows.append([Button(_("Skip"), choose("skip"))])
    if step.number > 1:
        rows.append([Button("⬅ " + _("Back"), Back(step.response_id))])
    return "\n\n".join(lines), keyboard(rows)


def summary(step: Summary, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    answers = "\n".join("• " + labelled(_(item.title), answer_label(item, value, _), _) for item, value in step.answers)
    rows = [
        [Button("✅ " + _("Submit"), Submit(step.response_id))],
        [Button("✏️ " + _("Edit"), EditAnswers(step.response_id))],
    ]
    return "\n\n".join([_("Please check your answers:"), answers]), keyboard(rows)


def edit_menu(step: Summary, _: Gettext) -> InlineKeyboardMarkup:
    rows = [[Button(_(item.title), EditItem(step.response_id, item.id))] for item, _value in step.answers]
    return keyboard(rows)


def view(step: AskItem | Summary, _: Gettext) -> tuple[str, InlineKeyboardMarkup]:
    return question(step, _) if isinstance(step, AskItem) else summary(step, _)
