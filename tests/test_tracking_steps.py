"""The tracking page's steps: the main line with the side states where they apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.http.tracking_model import steps
from gateway.melding import Status, StatusChange

S = Status
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def history(*statuses: Status) -> list[StatusChange]:
    return [
        StatusChange(status=s, at=T0 + timedelta(hours=i), source="case_system")
        for i, s in enumerate(statuses)
    ]


def shown(*statuses: Status) -> list[tuple[str, str]]:
    return [(step.status.value, step.state) for step in steps(history(*statuses), statuses[-1])]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            (S.ONTVANGEN,),
            "ontvangen:current geregistreerd:todo in_behandeling:todo gepland:todo behandeld:todo",
        ),
        (
            (S.ONTVANGEN, S.GEREGISTREERD, S.IN_BEHANDELING),
            "ontvangen:done geregistreerd:done in_behandeling:current gepland:todo behandeld:todo",
        ),
        # answered at once by the desk: received, answered, nothing more to come
        ((S.ONTVANGEN, S.BEANTWOORD), "ontvangen:done beantwoord:current"),
        # the desk waits for the reporter: the side step is current, the line goes on after it
        (
            (S.ONTVANGEN, S.WACHTEN_OP_ANTWOORD),
            "ontvangen:done wachten_op_antwoord:current geregistreerd:todo in_behandeling:todo"
            " gepland:todo behandeld:todo",
        ),
        # an answer came: the question stays in the line as passed
        (
            (S.ONTVANGEN, S.WACHTEN_OP_ANTWOORD, S.IN_BEHANDELING),
            "ontvangen:done wachten_op_antwoord:done geregistreerd:done in_behandeling:current"
            " gepland:todo behandeld:todo",
        ),
        (
            (S.ONTVANGEN, S.GEREGISTREERD, S.NAAR_EXTERNE_PARTNER),
            "ontvangen:done geregistreerd:done naar_externe_partner:current in_behandeling:todo"
            " gepland:todo behandeld:todo",
        ),
        # cannot be carried out: final, nothing after it
        (
            (S.ONTVANGEN, S.GEREGISTREERD, S.NIET_BEHANDELD),
            "ontvangen:done geregistreerd:done niet_behandeld:current",
        ),
        (
            (S.ONTVANGEN, S.GEREGISTREERD, S.GEPLAND, S.BEHANDELD),
            "ontvangen:done geregistreerd:done in_behandeling:done gepland:done behandeld:current",
        ),
        # reopened ("it is not fixed"): back in behandeling, what followed is to come again
        (
            (S.ONTVANGEN, S.GEREGISTREERD, S.IN_BEHANDELING, S.BEHANDELD, S.IN_BEHANDELING),
            "ontvangen:done geregistreerd:done in_behandeling:current gepland:todo behandeld:todo",
        ),
    ],
)
def test_steps(path: tuple[Status, ...], expected: str) -> None:
    assert " ".join(f"{code}:{state}" for code, state in shown(*path)) == expected


def test_a_step_has_the_moment_it_was_first_reached_and_one_to_come_none() -> None:
    found = steps(history(S.ONTVANGEN, S.GEREGISTREERD), S.GEREGISTREERD)
    assert [s.at for s in found] == [T0, T0 + timedelta(hours=1), None, None, None]
