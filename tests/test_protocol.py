"""The protocol is data: the shipped file holds the regimen, and a broken file names its field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import SHIPPED_PROTOCOL
from bot.protocol import ProtocolError, StudyProtocol, load_protocol


def test_it_ships_the_published_regimen(protocol: StudyProtocol) -> None:
    regimen = protocol.dose_regimen
    assert "1 million IU" in regimen.text.for_language("en")
    assert "100万IU" in regimen.text.for_language("zh_CN")
    assert (regimen.cycle_days, regimen.dose_days, regimen.cycles) == (28, [0, 2, 4, 6, 8, 10, 12], 3)
    assert protocol.checkin_plan.months == 24
    assert protocol.checkin_plan.nudge_days == [1, 3]
    assert protocol.checkin_plan.missed_after_days == 7
    assert protocol.triage.urgent_temperature_c == 39.5
    assert [step.after_minutes for step in protocol.escalation.urgent.steps] == [0, 30, 90]
    assert protocol.escalation.urgent.max_repeats == 6


def test_it_shows_a_text_the_protocol_lacks_in_the_source_language(tmp_path: Path) -> None:
    protocol = load_protocol(_broken(tmp_path, {"dose_regimen.amount.zh_CN": None}))
    assert protocol.dose_regimen.amount.for_language("zh_CN") == "1 million IU"
    assert protocol.dose_regimen.text.for_language("zh_CN") == "重组人白介素-2（rhIL-2）100万IU，皮下注射"
    assert protocol.untranslated(["zh_CN", "en"]) == {"zh_CN": ["dose_regimen.amount"]}


def _broken(tmp_path: Path, change: dict[str, object] | None = None, *, raw: str | None = None) -> Path:
    path = tmp_path / "protocol.yaml"
    if raw is not None:
        path.write_text(raw)
        return path
    data = yaml.safe_load(SHIPPED_PROTOCOL.read_text())
    for dotted, value in (change or {}).items():
        *parents, leaf = dotted.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"dose_regimen.cycles": "three"}, "dose_regimen.cycles"),
        ({"triage.urgent_temperature_c": None}, "triage.urgent_temperature_c"),
        ({"triage.urgent_symptoms": ["dyspnoea"]}, "triage.urgent_symptoms"),
        ({"dose_regimen.dose_days": [0, 2, 30]}, "dose_regimen"),
        ({"escalation.urgent.steps": [{"after_minutes": 30, "roles": ["pi"]}]}, "escalation.urgent"),
        (
            {"escalation.infection.steps": [{"after_minutes": 0, "roles": ["nurse"]}]},
            "escalation.infection.steps[0].roles[0]",
        ),
        ({"checkin_plan.default_reminder_time": "9 o'clock"}, "checkin_plan.default_reminder_time"),
        ({"checkin_plan.nudge_dayz": [1]}, "checkin_plan.nudge_dayz"),
        ({"study.title.en": None}, "study.title"),
        ({"dose_regimen.amount.klingon": "1 million IU"}, "dose_regimen.amount"),
        ({"dose_regimen.text.zh_CN": " "}, "dose_regimen.text"),
        ({"safety.red_flags.zh_CN": ["胸痛", " "]}, "safety.red_flags"),
    ],
)
def test_it_names_the_broken_field(tmp_path: Path, change: dict[str, object], named: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        load_protocol(_broken(tmp_path, change))
    assert f": {named}: " in str(refused.value)
    assert "\n" not in str(refused.value)


def test_it_says_where_the_yaml_is_broken(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match=r"line \d+: not valid YAML \(.+\)"):
        load_protocol(_broken(tmp_path, raw="study:\n  id: [unclosed\n"))


def test_it_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="cannot read"):
        load_protocol(tmp_path / "nope.yaml")
