"""The info dienst's questions grouped by topic ("the same question many times"), for the overview.

Simple and deterministic on purpose, so a manager can check a group by reading it:
1. each question becomes its content words (gateway.dedupe.text.content_string: lowercase, no
   accents, no function words, greetings or numbers, plural endings off);
2. questions are taken oldest first; each joins the group whose first question it resembles most
   (the oldest such group on a tie) with a rapidfuzz `token_set_ratio` of at least SIMILARITY (the
   share of words they have in common, so "openingsuren recyclagepark" meets "recyclagepark open"),
   or starts a new group. The comparison with every group is one rapidfuzz call (C), so 2,000
   questions take a fraction of a second. A question with fewer than MIN_WORDS content words joins
   nothing (a set of one word is contained in too many others);
3. groups of at least MIN_SIZE are shown, largest first (then the oldest first): a topic asked
   that often suggests that the city's own information is unclear.
The same questions in the same order always give the same groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from gateway.dedupe.text import content_string
from gateway.store.overview import Question

SIMILARITY = 70.0
MIN_WORDS = 2
MIN_SIZE = 2


@dataclass
class Cluster:
    topic: str  # the content words of its first question
    questions: list[Question] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.questions)


def cluster(questions: Sequence[Question]) -> list[Cluster]:
    groups: list[Cluster] = []
    topics: list[str] = []  # groups[n].topic, as the list rapidfuzz reads
    for question in questions:
        words = content_string(question.text, limit=20)
        if len(words.split()) < MIN_WORDS:
            continue
        found = process.extractOne(words, topics, scorer=fuzz.token_set_ratio, score_cutoff=SIMILARITY)
        if found is not None:
            groups[found[2]].questions.append(question)
        else:
            groups.append(Cluster(topic=words, questions=[question]))
            topics.append(words)
    shown = [g for g in groups if g.size >= MIN_SIZE]
    return sorted(shown, key=lambda g: (-g.size, g.questions[0].received_at, g.questions[0].id))
