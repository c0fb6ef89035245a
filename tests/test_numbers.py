"""Numbers as people type them: one parser for typed answers and for temperatures in a patient's own words."""

from __future__ import annotations

import pytest

from bot.forms import ITEMS, Invalid, parse_typed
from bot.services.red_flags import temperatures


@pytest.mark.parametrize(
    ("typed", "celsius"),
    [
        ("38.5", 38.5),
        ("38,5", 38.5),
        ("38。5", 38.5),
        ("38度5", 38.5),
        ("38.5度", 38.5),
        ("三十八度五", 38.5),
        ("三十九点五", 39.5),
        ("四十度", 40.0),
        ("38.5℃", 38.5),
        ("101.3F", 38.5),
        ("101.3 °F", 38.5),
        ("１００.４℉", 38.0),
        ("100.4", 38.0),
    ],
)
def test_it_reads_a_typed_temperature_and_the_same_in_a_message(typed: str, celsius: float) -> None:
    assert parse_typed(ITEMS["max_temp"], typed) == celsius
    if any(mark in typed for mark in ("度", "℃", "F", "℉")):
        assert temperatures(f"我昨天{typed}") == [celsius], "the red-flag matcher reads it the same way"


@pytest.mark.parametrize("typed", ["abc", "38.5 mg", "3天", "三四十", "", "45", "38.5.1"])
def test_it_refuses_what_is_not_a_temperature(typed: str) -> None:
    with pytest.raises(Invalid):
        parse_typed(ITEMS["max_temp"], typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1.5", "1.5 tablets"), ("2片", "2 tablets"), ("7.5 mg", "7.5 mg"), ("7.5毫克", "7.5 mg"), ("十毫克", "10 mg")],
)
def test_it_reads_a_steroid_amount_in_tablets_or_mg(typed: str, stored: str) -> None:
    assert parse_typed(ITEMS["steroid_amount"], typed) == stored


@pytest.mark.parametrize("typed", ["38度5", "2天", "-1", "300"])
def test_it_refuses_a_steroid_amount_that_is_not_one(typed: str) -> None:
    with pytest.raises(Invalid):
        parse_typed(ITEMS["steroid_amount"], typed)


def test_it_reads_days_with_or_without_the_unit() -> None:
    assert parse_typed(ITEMS["fever_days"], "3天") == 3
    assert parse_typed(ITEMS["fever_days"], "三") == 3
    with pytest.raises(Invalid):
        parse_typed(ITEMS["fever_days"], "3片")


def test_it_finds_a_high_fever_written_in_chinese_numerals() -> None:
    assert temperatures("发烧三十九度八，很难受") == [39.8]
    assert temperatures("一直发烧，吃了两片药") == []
