"""The red-flag matcher: the protocol's words and a high temperature, however a patient types them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.protocol import StudyProtocol
from bot.services.red_flags import red_flags, temperatures


def flags(text: str, protocol: StudyProtocol) -> list[str]:
    return red_flags(text, protocol.safety.red_flags, protocol.triage.urgent_temperature_c)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我现在发烧40度，喘不上气，住院了", ["喘不上气", "40.0 °C"]),
        ("胸口痛，有点糊涂了", ["胸口痛", "糊涂了"]),
        ("妈妈叫不醒", ["叫不醒"]),
        ("I can’t breathe", ["can't breathe"]),
        ("CHEST PAIN since this morning", ["chest pain"]),
        ("I have chest pains and feel Confused.", ["chest pains", "confused"]),
        ("fever 39.8°", ["39.8 °C"]),
        ("体温39.5℃", ["39.5 °C"]),
        ("39,6 °C last night", ["39.6 °C"]),
        ("it was 40 degrees this morning", ["40.0 °C"]),
        ("104F", ["40.0 °C"]),
        ("103.5 °F and shivering", ["39.7 °C"]),
        ("烧到39度8", ["39.8 °C"]),
        ("发烧40", ["40.0 °C"]),
        ("体温：３９．９度", ["39.9 °C"]),  # full-width digits and colon
        ("fever of 40", ["40.0 °C"]),
    ],
)
def test_it_finds_red_flags(text: str, expected: list[str], protocol: StudyProtocol) -> None:
    assert flags(text, protocol) == expected


@pytest.mark.parametrize(
    "text",
    [
        "谢谢",
        "今天吃了2片药",
        "I took 2 tablets at 10:40",
        "call 120 if needed?",
        "my appointment is on 2026-11-26",
        "复诊在11月26日",
        "发烧38.6度",
        "39.4°C",
        "100.4F",  # 38.0 °C
        "the benefit is clear",  # "fit" is not in the lexicon, but the same boundary rule keeps words whole
        "I feel unconsciously happy",  # "unconscious" inside a longer word
        "emergencyroom",  # no boundary
        "体温正常",
        "38 degrees",
        "103 °F",  # 39.4 °C
    ],
)
def test_it_leaves_harmless_text_alone(text: str, protocol: StudyProtocol) -> None:
    assert flags(text, protocol) == []


def test_it_reads_temperatures_in_the_order_written() -> None:
    assert temperatures("早上38.2度，晚上39度5，今天 102°F") == [38.2, 39.5, 38.9]


@given(tenths=st.integers(min_value=395, max_value=425), unit=st.sampled_from(["度", "°", "℃", " °C", " degrees", "C"]))
def test_it_flags_every_urgent_temperature_with_a_unit(tenths: int, unit: str, protocol: StudyProtocol) -> None:
    written = f"{tenths // 10}.{tenths % 10}{unit}"
    assert flags(f"今天{written}", protocol) == [f"{tenths / 10:.1f} °C"]


@given(tenths=st.integers(min_value=350, max_value=394), unit=st.sampled_from(["度", "°", "℃", " °C", " degrees"]))
def test_it_never_flags_a_temperature_below_the_threshold(tenths: int, unit: str, protocol: StudyProtocol) -> None:
    assert flags(f"{tenths // 10}.{tenths % 10}{unit}", protocol) == []


@given(number=st.integers(0, 999), noun=st.sampled_from(["片", " tablets", "mg", "次", " days", ""]))
def test_it_never_takes_a_plain_number_for_a_temperature(number: int, noun: str, protocol: StudyProtocol) -> None:
    assert flags(f"I took {number}{noun} today", protocol) == []


@given(before=st.text(alphabet="abcxyz 我们好", max_size=8), after=st.text(alphabet="abcxyz 我们好", max_size=8))
def test_it_finds_a_chinese_term_anywhere(before: str, after: str, protocol: StudyProtocol) -> None:
    assert "呼吸困难" in flags(before + "呼吸困难" + after, protocol)


@given(prefix=st.sampled_from(["a", "re", "x", "1"]))
def test_it_keeps_english_terms_on_word_boundaries(prefix: str, protocol: StudyProtocol) -> None:
    assert flags(f"{prefix}fainted", protocol) == []
    assert flags(f"she {prefix} fainted", protocol) == ["fainted"]
