"""Problems two diensten both receive (a lamp at a crossing, a branch on the road, full glass
banks): which kinds a report keeps for its twin in the other dienst, and which dienst it also
searches (gateway.dedupe.finder; docs/duplicates-rounds.md, "Fourth round")."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.dedupe.kinds import BY_NAME, _placed


@dataclass(frozen=True)
class Shared:
    """A problem two diensten both receive, routed to either: the lamp above a crossing goes to
    verlichting or to signalisatie, a branch on the road to groen or to wegen, full glass banks
    to nette_stad or to afvalophaling. A pair across the
    two is judged in the owner's words (`kinds`); a report routed to the other dienst must name
    `gate` too (signalisatie's lamp, so its traffic lights never meet a street light)."""

    owner: str
    other: str
    kinds: frozenset[str]
    gate: str | None
    # A kind of the other dienst an owner's report must name to search the other dienst (a
    # street light searches signalisatie only at a crossing): most lamps are no crossing's, and
    # each search is one more lookup. The other dienst's report still finds any owner's report.
    context: str | None = None


SHARED: tuple[Shared, ...] = (
    Shared(
        "verlichting",
        "signalisatie",
        frozenset({"verlichting.uit", "verlichting.flikker", "verlichting.paal"}),
        "signalisatie.lamp",
        "signalisatie.zebrapad",
    ),
    Shared("groen", "wegen", frozenset({"groen.tak", "groen.omgevallen"}), None),
    # Full glass banks: emptied by the collector, reported to Nette Stad as often as not.
    Shared("nette_stad", "afvalophaling", frozenset({"nette_stad.glasbol_vol"}), "afvalophaling.glasbol"),
)
# Per dienst, the owners' kinds its reports keep for a twin in the owner's dienst (`twin_kinds`).
KEPT_FOR_TWIN: dict[str, frozenset[str]] = {
    other: frozenset().union(*(s.kinds for s in SHARED if s.other == other))
    for other in {s.other for s in SHARED}
}


def twin_kinds(dienst: str | None, normalized: str, found: frozenset[str]) -> frozenset[str]:
    """The owner's kinds of a shared problem named in a report routed to the other dienst: kept
    with its kinds, so a report of either dienst can find it (`partners`)."""
    extra: set[str] = set()
    for s in SHARED:
        # Only the few kinds concerned are searched (a whole `detect` per report cost a tenth of
        # locating): an owner's kind that is not only a place ("naast de tak" is no branch).
        if dienst == s.other and (s.gate is None or s.gate in found):
            extra.update(k for k in s.kinds if _placed(BY_NAME[k], normalized) is False)
        elif (
            dienst == s.owner
            and s.context is not None
            and found & s.kinds
            and BY_NAME[s.context].regex.search(normalized)
        ):
            extra.add(s.context)
    return frozenset(extra)


def partners(dienst: str | None, found: frozenset[str]) -> list[tuple[Shared, str]]:
    """(shared problem, the other dienst to search) for a report naming a shared problem."""
    out = []
    for s in SHARED:
        if found & s.kinds:
            if dienst == s.owner and (s.context is None or s.context in found):
                out.append((s, s.other))
            elif dienst == s.other:
                out.append((s, s.owner))
    return out
