"""The national register number: check digits, both centuries, formatting, and never shown."""

from __future__ import annotations

import pytest

from gateway.national_number import InvalidNationalNumber, NationalRegisterNumber, normalised

# 93.05.18-223.61 is the example of the Belgian government's own documentation (born 1993);
# 17.06.12-345.14 is born in 2017: its check only fits over "2" + the first nine digits.
BORN_1993 = "93.05.18-223.61"
BORN_2017 = "17.06.12-345.14"


@pytest.mark.parametrize(
    "given",
    [BORN_1993, "93051822361", "930518 223 61", " 93-05-18-223-61 ", "93.05.18/223.61", BORN_2017],
)
def test_valid_numbers_in_any_common_formatting_are_normalised(given: str) -> None:
    digits = normalised(given)
    assert len(digits) == 11 and digits.isdigit()
    assert digits == "".join(c for c in given if c.isdigit())


def test_either_century_is_accepted_as_the_number_does_not_say_which() -> None:
    assert normalised(BORN_2017) == "17061234514"  # born 2017: the check over "2" + nine digits
    assert normalised("17.06.12-345.82") == "17061234582"  # the same digits, born 1917
    with pytest.raises(InvalidNationalNumber, match="check digits"):
        normalised("17.06.12-345.15")  # neither


@pytest.mark.parametrize(
    "given, why",
    [
        ("93.05.18-223.62", "check digits"),  # one digit off
        ("93.05.18-223.6", "11 digits"),
        ("93.05.18-223.611", "11 digits"),
        ("93.05.18-2x3.61", "11 digits"),
        ("٩٣٠٥١٨٢٢٣٦١", "11 digits"),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("", "11 digits"),
    ],
)
def test_invalid_numbers_are_refused_without_repeating_them(given: str, why: str) -> None:
    with pytest.raises(InvalidNationalNumber, match=why) as refused:
        normalised(given)
    assert "223" not in str(refused.value)


def test_a_birth_date_that_cannot_be_is_refused() -> None:
    body = "931318223"  # month 13
    digits = body + f"{97 - int(body) % 97:02d}"
    with pytest.raises(InvalidNationalNumber, match="birth date"):
        normalised(digits)


def test_the_number_never_shows_in_its_text_or_repr() -> None:
    number = NationalRegisterNumber.parse(BORN_1993)
    for shown in (str(number), repr(number), f"{number}", f"{number!r}", str([number])):
        assert "930518223" not in shown and "*" in shown
    assert number.masked().endswith("61")
