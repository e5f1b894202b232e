"""argparse `type=` functions for numbers with a range: a value out of it is refused by argparse
itself (`gateway classify: error: argument --threshold: ...`, exit 2) before any work starts."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'a whole' if kind is int else 'a'} number"
        ) from None
    if not math.isfinite(value):  # nan compares false with every bound
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def probability(text: str) -> float:
    """A threshold on a calibrated probability: 0 to 1."""
    value = float(_number(text, float))
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a number from 0 to 1")
    return value


def positive(text: str) -> float:
    """A length of time (days): more than 0."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number from `minimum` (to `maximum`): a count of processes, a batch size, a port."""

    def check(text: str) -> int:
        value = int(_number(text, int))
        if value < minimum or (maximum is not None and value > maximum):
            wanted = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"{text} is not a whole number {wanted}")
        return value

    check.__name__ = "whole number"  # argparse names the type in "invalid ... value" otherwise
    return check


port = whole(1, 65535)
