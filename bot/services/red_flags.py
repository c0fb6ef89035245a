"""Red flags in a patient's own words: the protocol's lexicon and a high temperature, however it was typed.

A pure function, so the rules can be tested on their own (tests/test_red_flags.py):

- the terms of every language count, whatever the patient's language;
- terms in other scripts than a-z (Chinese, Japanese) match as substrings ("我喘不上气了" has 喘不上气);
- terms in a-z (English) match case-insensitively on word boundaries ("fit" would not match "benefit"), with
  curly apostrophes read as straight ones ("can’t breathe");
- a temperature at or above the urgent threshold matches when it is written as one: a number with a unit
  ("40度", "39度8", "39.8°", "39.5℃", "39,6 °C", "40 degrees", "104F", "103 °F") or right after a word for
  fever ("发烧40", "体温39.6", "fever of 40"). Fahrenheit is converted; full-width digits are read as digits.
  A number without either ("2 tablets", "120", a date) is not a temperature. Chinese numerals count too
  ("发烧三十九度八"). The numbers are read by bot.numbers, as the questionnaire reads them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.numbers import NUMBER, UNIT, celsius, normalise, temperature_unit, with_digits
from bot.protocol import RedFlags

_WITH_UNIT = re.compile(NUMBER + UNIT)
_AFTER_FEVER_WORD = re.compile(
    r"(?:发烧|发热|高烧|烧到|体温|fever|temperature|temp)\s*(?:of|is|was|到|了|是|有)?\s*[:：]?\s*"
    + NUMBER
    + r"(?![\d°度])"
)
_PLAUSIBLE_C = (34.0, 45.0)


@lru_cache(maxsize=64)
def _english_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in normalise(term).split()]
    return re.compile(r"(?<![a-z0-9'])" + r"\s+".join(words) + r"(?![a-z0-9])")


def _found(term: str, cleaned: str) -> bool:
    """A term in letters a-z is a whole word or phrase ("confused", not "unconfused"); any other script (Chinese,
    Japanese) has no spaces between words, so there the term is found anywhere."""
    return bool(_english_pattern(term).search(cleaned)) if term.isascii() else normalise(term) in cleaned


def _plausible(value: float) -> float | None:
    return value if _PLAUSIBLE_C[0] <= value <= _PLAUSIBLE_C[1] else None


def temperatures(text: str) -> list[float]:
    """Every temperature (°C, one decimal) written in the text, in the order written."""
    cleaned = with_digits(text)
    found: list[tuple[int, float]] = []
    for match in _WITH_UNIT.finditer(cleaned):
        fraction, unit = temperature_unit(match.groups()[1:])
        value = _plausible(celsius(match.group(1), fraction, unit))
        if value is not None:
            found.append((match.start(), value))
    taken = {start for start, _value in found}
    for match in _AFTER_FEVER_WORD.finditer(cleaned):
        value = _plausible(celsius(match.group(1), None, ""))
        if value is not None and match.start(1) not in taken:
            found.append((match.start(1), value))
    return [value for _start, value in sorted(found)]


def red_flags(text: str, lexicon: RedFlags, urgent_temperature_c: float) -> list[str]:
    """The lexicon terms the text contains (by language, then term, in the protocol's order), then the
    first temperature at or above `urgent_temperature_c` (as "40.0 °C"). Empty when nothing matched."""
    cleaned = normalise(text)
    matched = [term for term in lexicon.terms() if _found(term, cleaned)]
    high = [value for value in temperatures(text) if value >= urgent_temperature_c]
    if high:
        matched.append(f"{high[0]:.1f} °C")
    return list(dict.fromkeys(matched))
