"""The Belgian national register number (rijksregisternummer): YYMMDD-SSS-CC.

Eleven digits: the birth date (month or day may be 0 when unknown, and a bis number adds 20 or
40 to the month), a serial number, and a check number: 97 - (the first nine digits mod 97); for
people born from 2000 on, the check is computed over "2" followed by those nine digits. The
century is not in the number, so a number whose check fits either rule is valid.

It identifies a citizen to the portal (Mijn Burgerprofiel) and must never be shown on a page,
in a log or in a webhook to anyone but the portal: `repr` and `str` hide it; `.digits` is the
only way to the number itself, and the store and the portal feeds are its only readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The formatting people write: 85.07.30-033.28, 850730 033 28, 85073003328.
_SEPARATORS = re.compile(r"[\s.\-/]")


class InvalidNationalNumber(ValueError):
    """Why a number is refused; the message never repeats the number."""


@dataclass(frozen=True)
class NationalRegisterNumber:
    digits: str = field(repr=False)

    def __post_init__(self) -> None:
        check(self.digits)

    @classmethod
    def parse(cls, text: str) -> NationalRegisterNumber:
        """From what a person or a form typed: dots, dashes, slashes and spaces are ignored."""
        return cls(_SEPARATORS.sub("", text))

    def masked(self) -> str:
        """For the desk, to tell which citizen without showing who: the last two digits only."""
        return "*********" + self.digits[-2:]

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"NationalRegisterNumber({self.masked()})"


def check(digits: str) -> None:
    """InvalidNationalNumber when `digits` (normalised: 11 digits) is no national register number."""
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        raise InvalidNationalNumber("a national register number has 11 digits (YYMMDD-SSS-CC)")
    body, given = digits[:9], int(digits[9:])
    if given not in (97 - int(body) % 97, 97 - int("2" + body) % 97):
        raise InvalidNationalNumber("the check digits of the national register number do not match")
    month, day = int(digits[2:4]) % 20, int(digits[4:6])  # bis numbers add 20 or 40 to the month
    if month > 12 or day > 31:
        raise InvalidNationalNumber("the national register number holds no valid birth date")


_LOOKS_LIKE_ONE = re.compile(r"(?<!\d)\d{2}[\s./-]?\d{2}[\s./-]?\d{2}[\s./-]?\d{3}[\s./-]?\d{2}(?!\d)")


def scrubbed(text: str) -> str:
    """`text` (another system's error message) with anything shaped like a number blanked: what a
    portal echoes back must not reach our logs or the store."""
    return _LOOKS_LIKE_ONE.sub("[national register number]", text)


def normalised(text: str) -> str:
    """The 11 digits of a valid number as given with any formatting; InvalidNationalNumber if not."""
    return NationalRegisterNumber.parse(text).digits
