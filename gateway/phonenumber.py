"""Phone numbers in E.164, as every channel stores them (SMS senders, callers)."""

from __future__ import annotations

from typing import overload

import phonenumbers

DEFAULT_REGION = "BE"  # a number written nationally ("0470 12 34 56") is Belgian


@overload
def e164(number: str, region: str = ...) -> str: ...
@overload
def e164(number: None, region: str = ...) -> None: ...


def e164(number: str | None, region: str = DEFAULT_REGION) -> str | None:
    """+32470123456 for any way of writing a number; what does not parse as a possible number
    (short codes, sender names, "anonymous") is kept as given, never lost. No number: None."""
    if number is None:
        return None
    raw = number.strip()
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_possible_number(parsed):
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def readable(number: str, region: str = DEFAULT_REGION) -> str:
    """A stored number as people read it back: "+32 470 12 34 56"; what does not parse, as given."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_mobile(number: str, region: str = DEFAULT_REGION) -> bool:
    """A number that can receive an SMS: mobile (or, where numbering cannot tell, possibly mobile)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
