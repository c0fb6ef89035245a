"""Numbers as people type them: the one parser behind the questionnaire's typed answers and the red-flag
matcher's temperatures.

- full-width digits and letters are read as ASCII, ℃/℉ as °C/°F (NFKC);
- Chinese numerals become digits: 三十八度五 = 38度5, 三十九点五 = 39.5, 一百零四 = 104;
- 38度5 and 39度8 mean 38.5 and 39.8; a decimal comma or 。 between digits is a decimal point;
- a temperature in °F (a letter, or a bare value from 93 to 113: nobody's temperature in °C) becomes °C.
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_NUMBER = re.compile(r"([零〇一二两三四五六七八九十百]+)(?:点([零〇一二两三四五六七八九]+))?")
FAHRENHEIT_WITHOUT_LETTER = (93.0, 113.0)  # "104度" / "104°" / "104": read as °F
NUMBER = r"(?<![\d.,])(\d{1,3}(?:[.,]\d{1,2})?)"
# a number and what may follow it: 度 with an optional tenth (39度8), a degree sign and letter, a word, a letter
UNIT = r"\s*(?:(度)(\d)?(?!\d)|°\s*([cf])?|degrees?(?:\s*([cf])(?![a-z])|\s*(celsius|fahrenheit))?|([cf])(?![a-z]))"
_TYPED = re.compile(r"^" + NUMBER + r"(?:" + UNIT + r"|\s*(mg|毫克|片|天|days?|tablets?))?$")


def _integer(numerals: str) -> int | None:
    """一百零四 = 104, 三十八 = 38, 十 = 10, 三八 = 38 (read digit by digit); None when it is not a number."""
    if "十" not in numerals and "百" not in numerals:
        return int("".join(str(_DIGITS[character]) for character in numerals))
    total, digit = 0, None
    for character in numerals:
        if character == "百":
            total, digit = total + (1 if digit is None else digit) * 100, None
        elif character == "十":
            total, digit = total + (1 if digit is None else digit) * 10, None
        elif digit is not None and _DIGITS[character] != 0:
            return None  # 三四十: two digits in a row is not one number
        else:
            digit = _DIGITS[character] if _DIGITS[character] != 0 or digit is None else digit
    return total + (digit or 0)


def _chinese_to_digits(match: re.Match[str]) -> str:
    whole = _integer(match.group(1))
    if whole is None:
        return match.group(0)
    fraction = match.group(2)
    if not fraction:
        return str(whole)
    return f"{whole}." + "".join(str(_DIGITS[character]) for character in fraction)


def normalise(text: str) -> str:
    """Full-width to ASCII, ℃/℉ to °C/°F, curly apostrophes straight, lower case (no numeral conversion)."""
    return unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").replace("`", "'").lower()


def with_digits(text: str) -> str:
    """`normalise`, then Chinese numerals as digits and 。 between digits as a decimal point."""
    cleaned = _CHINESE_NUMBER.sub(_chinese_to_digits, normalise(text))
    return re.sub(r"(\d)。(\d)", r"\1.\2", cleaned)


def celsius(number: str, fraction: str | None, unit: str) -> float:
    """A matched temperature in °C (one decimal): `unit` is "", "度", "c", "f", "celsius" or "fahrenheit"."""
    value = float(number.replace(",", "."))
    if fraction:  # 39度8 = 39.8
        value += int(fraction) / 10
    fahrenheit = unit in ("f", "fahrenheit") or (
        unit in ("", "度") and FAHRENHEIT_WITHOUT_LETTER[0] <= value <= FAHRENHEIT_WITHOUT_LETTER[1]
    )
    if fahrenheit:
        value = (value - 32) * 5 / 9
    return round(value, 1)


def temperature_unit(groups: tuple[str | None, ...]) -> tuple[str | None, str]:
    """From UNIT's groups (度, tenth, °letter, degrees letter, degrees word, letter): the tenth and the unit."""
    du, fraction, degree_letter, degrees_letter, degrees_word, letter = groups
    return fraction, degree_letter or degrees_letter or degrees_word or letter or du or ""


def typed_number(text: str) -> tuple[str, str | None, str, str]:
    """A whole typed answer as (number, tenth after 度, temperature unit, other unit such as mg or 天).

    Raises ValueError when the text is not one number with an optional unit."""
    match = _TYPED.match(with_digits(text).strip())
    if match is None:
        raise ValueError(text)
    fraction, unit = temperature_unit(match.groups()[1:7])
    return match.group(1), fraction, unit, (match.group(8) or "")


def typed_temperature(text: str) -> float:
    """A typed temperature in °C (one decimal); ValueError when it is not one, or written with another unit."""
    number, fraction, unit, other = typed_number(text)
    if other:
        raise ValueError(text)
    return celsius(number, fraction, unit)
