"""Every patient-visible string is extracted, translated in both catalogs, and keeps its placeholders."""

from __future__ import annotations

import ast
import re
import string
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, gettext_for, languages, long_date

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "handlers")


def extracted() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = set()
    for folder in SOURCES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")], keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_it_keeps_the_template_in_step_with_the_code() -> None:
    template = {message.id for message in catalog(LOCALES_DIR / "messages.pot") if message.id}
    assert extracted() == template, "run `make update-catalogs` and translate the new strings"


@pytest.mark.parametrize("language", languages())
def test_it_translates_every_string(language: str) -> None:
    po = catalog(LOCALES_DIR / language / "LC_MESSAGES" / "messages.po")
    messages = {message.id: message for message in po if message.id}
    code = extracted()
    assert sorted(code - messages.keys()) == [], "missing from the catalog"
    assert sorted(messages.keys() - code) == [], "obsolete: no longer in the code"
    assert [msgid for msgid, message in messages.items() if not message.string] == [], "untranslated"
    assert [msgid for msgid, message in messages.items() if message.fuzzy] == [], "fuzzy"
    assert not po.fuzzy
    for msgid, message in messages.items():
        assert placeholders(str(message.string)) == placeholders(str(msgid)), msgid


def test_it_finds_no_gettext_call_that_extraction_cannot_see() -> None:
    """`gettext_for(lang)("text")`, `_(f"...")` and `_(LABELS["x"])` hide strings from pybabel."""
    hidden = []
    for path in [path for folder in SOURCES for path in (ROOT / folder).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            argument = node.args[0]
            literal_in_call = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            if isinstance(node.func, ast.Call) and literal_in_call:
                hidden.append(f"{path.name}:{node.lineno} gettext called without `_`")
            if isinstance(node.func, ast.Name) and node.func.id == "_" and isinstance(argument, ast.JoinedStr):
                hidden.append(f"{path.name}:{node.lineno} f-string inside _()")
            if (
                isinstance(node.func, ast.Name) and node.func.id == "_" and isinstance(argument, ast.Subscript)
            ) and isinstance(argument.slice, ast.Constant):
                hidden.append(f"{path.name}:{node.lineno} literal subscript inside _()")
    assert hidden == []


def test_it_speaks_chinese_to_chinese_patients() -> None:
    _ = gettext_for("zh_CN")
    assert _("I agree") == "我同意"
    assert _("Yes") == "有"
    assert re.fullmatch(r"2026年12月24日 星期四", long_date(date(2026, 12, 24), "zh_CN"))
    assert gettext_for("en")("I agree") == "I agree"


def test_it_gives_each_option_meaning_its_own_msgid() -> None:
    """One msgid, one meaning: "Something else" as a symptom must not also label "another medicine" (its
    Chinese, 其他不舒服, would then name a drug "other discomfort"). Only yes/no/not sure/none mean the same
    wherever they are offered."""
    from bot.forms import CLINICAL_LABELS, FORMS

    same_everywhere = {"yes", "no", "not_sure", "not_measured"}
    meanings: dict[str, set[object]] = {}
    for items in FORMS.values():
        for item in items:
            for code in (*item.choices(), *item.options) if not item.suggestions else ():
                meaning = code if code in same_everywhere or (code == "none" and not item.labels) else (item.id, code)
                if code == "none" and item.id in ("symptoms", "il2_reaction"):
                    meaning = "none of these"
                meanings.setdefault(item.label(code), set()).add(meaning)
    shared = {msgid: found for msgid, found in meanings.items() if len(found) > 1}
    assert shared == {}
    assert not set(meanings) & set(CLINICAL_LABELS.values()), "clinicians' terms have their own msgids"
