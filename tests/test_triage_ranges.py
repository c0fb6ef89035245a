"""Triage takes its answer ranges and options from the form's definitions (bot/forms.py): `followup triage`
accepts a value at the form's limits and refuses one beyond them, naming the field, and prints nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.forms import (
    FEVER_DAYS,
    HOSPITAL_REASON,
    IMMUNOSUPPRESSANTS,
    MAX_TEMP,
    ORGANISM,
    PREDNISONE_MG,
    STEROID,
    Invalid,
    Item,
    parse_typed,
)

RANGED = (MAX_TEMP, FEVER_DAYS, PREDNISONE_MG)


def _triage(tmp_path: Path, answers: dict[str, object]) -> tuple[int, str, str]:
    line = {"id": "r1", "group": "il2", "answers": {"fever": "yes", **answers}}
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    result = CliRunner().invoke(app, ["triage", "in.jsonl"])
    return result.exit_code, result.stdout, result.stderr


def _number(item: Item, value: float) -> float | int:
    return int(value) if item is FEVER_DAYS else value


@pytest.mark.parametrize("item", RANGED, ids=[item.id for item in RANGED])
def test_it_accepts_the_forms_limits_and_refuses_beyond_them(cli_env: str, tmp_path: Path, item: Item) -> None:
    for limit in (item.minimum, item.maximum):
        code, out, err = _triage(tmp_path, {item.id: _number(item, limit)})
        assert (code, err) == (0, ""), (item.id, limit)
        assert json.loads(out)["id"] == "r1"
    step = 1 if item is FEVER_DAYS else 0.1
    for beyond in (item.minimum - step, item.maximum + step):
        code, out, err = _triage(tmp_path, {item.id: _number(item, round(beyond, 1))})
        assert (code, out) == (1, ""), (item.id, beyond)
        assert err.startswith(f"error: line 1: answers.{item.id}"), err


def test_it_takes_the_text_limit_and_the_options_from_the_form(cli_env: str, tmp_path: Path) -> None:
    longest = "x" * int(ORGANISM.maximum)
    assert _triage(tmp_path, {"organism": longest})[0] == 0
    code, out, err = _triage(tmp_path, {"organism": longest + "x"})
    assert (code, out) == (1, "")
    assert err.startswith("error: line 1: answers.organism")
    for item in (HOSPITAL_REASON, STEROID):
        for option in item.options:
            assert _triage(tmp_path, {item.id: option})[0] == 0, (item.id, option)
        code, out, err = _triage(tmp_path, {item.id: "vitamin_c"})
        assert (code, out) == (1, "")
        assert err.startswith(f"error: line 1: answers.{item.id}: Input should be '{item.options[0]}'"), err
    assert _triage(tmp_path, {"immunosuppressants": list(IMMUNOSUPPRESSANTS.options[:2])})[0] == 0
    code, _out, err = _triage(tmp_path, {"immunosuppressants": ["vitamin_c"]})
    assert code == 1
    assert "unknown code(s) vitamin_c" in err


def test_it_tells_the_patient_the_same_temperature_range_as_triage_checks(cli_env: str, tmp_path: Path) -> None:
    """The refusal's text names the range in words (its msgid is translated as a whole): it must be the form's."""
    with pytest.raises(Invalid) as refused:
        parse_typed(MAX_TEMP, f"{MAX_TEMP.maximum + 0.5}")
    assert f"between {MAX_TEMP.minimum:.1f} and {MAX_TEMP.maximum:.1f} °C" in str(refused.value)
    code, _out, err = _triage(tmp_path, {"max_temp": MAX_TEMP.maximum + 0.5})
    assert code == 1
    assert f"must be between {MAX_TEMP.minimum:.1f} and {MAX_TEMP.maximum:.1f} °C" in err
