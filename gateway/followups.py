"""What a writer says was done: "Thanks, the light is working again. While I'm writing: there is a hole
in the pavement", "Mijn vorige melding over het sluikstort is behandeld, bedankt. Sindsdien ...".

A follow-up names the earlier problem to say it is over, and each of its words is another dienst's
keyword (issue 14, twenty-sixth round). Routing (`classify.mailtext`) and dedupe (`dedupe.ownwords`)
read a text without such clauses; the e-mail channel keeps a forward whose note says so as the report
(`channels.email.parse`): the forwarded earlier problem is history. Plain text work, no model: it sits
with `gateway.cleantext` at the bottom of the layers.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# "Thanks, the light is working again. While I'm writing: there is a hole in the pavement",
# "Mijn vorige melding over het sluikstort is behandeld, bedankt. Sindsdien ligt er zwerfvuil":
# a follow-up names the earlier problem to say it is over, and each of its words is another
# dienst's. A clause (up to "maar"/"but"/"mais" or the sentence's end) that thanks for work done, or
# says an earlier report was dealt with, is cut when a report of some words follows; so is "na de
# herstelling van vorige week". "Alvast bedankt om de lamp te herstellen" thanks in advance and
# asks: it stays; so does a clause that says it is not done ("bedankt, maar nog altijd niet hersteld").
# Dedupe reads a reporter's own words with the same cut (`gateway.dedupe.ownwords`).
_REPLY = re.compile(r"^\s*(?:(?:re|antw|aw|sv|réf|ref)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_THANKS = (
    r"(?<!alvast )(?<!voorbaat )\b(?:bedankt|dank\s+(?:u|je|jullie)|dankuwel|dankjewel|waarvoor\s+dank"
    r"|dank\s+(?:daarvoor|ervoor|voor)|met\s+dank|merci|thanks|thank\s+you)\b"
    r"(?!\s+(?:alvast|in\s+advance|d'avance|bij\s+voorbaat))"
    # "merci de l'enlever" asks: it is French for "please"; "merci d'avoir nettoyé" thanks for what was
    # done (twenty-seventh round, read in issue14r)
    r"(?!\s*d(?:e\b|'(?!avoir\b)))"
)
_EARLIER = (
    r"\b(?:mijn|onze|my|our|ma|mon|notre)\s+(?:\w+\s+)?"
    r"(?:melding|report|complaint|klacht|signalement|plainte)\b"
    # "Vorige keer meldde ik een put, die is hersteld", "the lamp I reported last month works again"
    r"|\bvorige\s+keer\b|\blast\s+time\b|\bla\s+dernière\s+fois\b|\bmeldde\w*\b|\bgemeld\b"
    r"|\breported\b|\bj'ai\s+signalé\b"
)
# The sentence before a done clause that names what was reported ("Mijn buurvrouw meldde vorige week
# een dode kat. Die is ondertussen opgehaald, waarvoor dank.") is the same earlier problem.
_EARLIER_SENTENCE = re.compile(rf"[^.!?\n]*(?:{_EARLIER})[^.!?\n]*[.!?)]*\s*$", re.IGNORECASE)
_DONE = (
    r"\b(?:herstel\w*|hersteld|opgelost|opgeruimd|opruim\w*|weg\s+te\s+(?:halen|nemen|doen)|weggehaald"
    r"|weggenomen|verwijder\w*|behandeld|vervangen|opgehaald|meegenomen|collected|picked\s+up|ramass\w*"
    r"|gerepareerd|gemaaid|gesnoeid|geledigd|leeggemaakt|(?:weer|terug)\s+in\s+orde|ontstopt|ontstoppen"
    # a drain that drains again: "het water loopt weer weg" (twenty-eighth round)
    r"|(?:loopt|lopen)\s+(?:\w+\s+)?(?:weer|terug|opnieuw)\s+(?:weg|door|af)"
    # "brandt weer" is done; "staat er weer water" is again: standing only when back in place
    r"|(?:brandt|branden|werkt|werken)\s+(?:\w+\s+)?(?:weer|terug|opnieuw)"
    r"|(?:staat|staan|ligt|liggen|hangt|hangen)\s+(?:\w+\s+)?(?:weer|terug)\s+(?:recht|goed|vast|op\s+(?:zijn|haar)\s+plaats)"
    r"|fix\w*|repair\w*|remov\w*|clean\w*|cleared|handled|sorted|resolved|replaced"
    r"|(?:working|works|back)\s+(?:again|on)|répar\w*|enlev\w*|nettoy\w*|résolu\w*|traité\w*|remplac\w*"
    r"|(?:fonctionne|fonctionnent|marche|marchent)\s+(?:à|de)\s+nouveau|remarche\w*)"
)
_NO_TURN = r"(?:(?!\b(?:maar|but|mais|nu|now|maintenant)\b)[^.!?\n])"  # "vorige keer X, nu Y" turns at "nu"
# Thanks for work done: up to "maar" or the sentence's end. An earlier report said done without thanks:
# the whole sentence, and only when it ends there ("mijn melding staat op 'behandeld' maar er ligt
# alleen een bord" complains about that report).
_DONE_CLAUSE = re.compile(
    rf"[^.!?\n]*?(?:{_THANKS}[^.!?\n]*?{_DONE}|{_DONE}[^.!?\n]*?{_THANKS})"
    r"[^.!?\n]*?(?:(?=\b(?:maar|but|mais)\b)|[.!?]+|(?=\n)|$)"
    rf"|[^.!?\n]*?(?:{_EARLIER}){_NO_TURN}*?{_DONE}{_NO_TURN}*(?:[.!?]+|(?=\n)|$)",
    re.IGNORECASE,
)
# Twenty-eighth round: the thanks and what was done in sentences of their own, side by side ("Bedankt! Het
# voetpad is mooi hersteld.", "De kolk is ontstopt. Merci!"): the thanks a few words at most.
# Not in a quoted line: "> Uw melding werd behandeld. Dank voor uw melding." is the city's own mail.
_SENTENCE_START = r"(?:^|(?<=[.!?\n]))"
_BARE_THANKS = rf"[ \t]*(?:{_THANKS})[^.!?\n]{{0,25}}?(?:[.!]+|(?=\n))"
_DONE_SENTENCE = rf"[ \t]*(?!>){_NO_TURN}*?{_DONE}{_NO_TURN}*(?:[.!]+|(?=\n)|$)"
_SIDE_BY_SIDE = re.compile(
    rf"{_SENTENCE_START}(?:{_BARE_THANKS}[ \t]*\n?{_DONE_SENTENCE}|{_DONE_SENTENCE}[ \t]*\n?{_BARE_THANKS})",
    re.IGNORECASE,
)
# ... looked for only where a short thanks stands alone (a lazy scan from every sentence is dear)
_BARE_THANKS_ALONE = re.compile(rf"{_SENTENCE_START}{_BARE_THANKS}", re.IGNORECASE)
_DONE_WORD = re.compile(_DONE, re.IGNORECASE)
_THANKS_WORD = re.compile(_THANKS, re.IGNORECASE)
_EARLIER_WORD = re.compile(_EARLIER, re.IGNORECASE)
_NOT_DONE = re.compile(
    r"\b(?:niet|nie|geen|nog\s+altijd|nog\s+steeds|not|never|nooit|still|pas|jamais|toujours|plus)\b|n't\b",
    re.IGNORECASE,
)
_AFTER_REPAIR = re.compile(
    r"\b(?:na|sinds|since|after|apres|après) (?:de|het|the|la|le|l) ?(?:\w+ )?"
    r"(?:herstelling|reparatie|opruiming"
    r"|vervanging|repair|fix|clean ?up|reparation|réparation|nettoyage)(?: (?:van|of|de|du))?"
    r"(?: (?:de|het|the|la|le|vorige|last))? \w+(?: (?:week|maand|keer|week|month|semaine))?",
    re.IGNORECASE,
)
_MIN_REPORT_WORDS = 5  # what is left must say something: "bedankt, de lamp brandt weer!" is all there is
_DONE_HINT = re.compile(  # every clause above has one of these (lowercased text, no IGNORECASE: cheap)
    r"herstel|opgelost|opgeruimd|opruim|weg te|weggehaald|weggenomen|verwijder|behandeld|vervangen|opgehaald"
    r"|meegenomen|gerepareerd|gemaaid|gesnoeid|geledigd|leeggemaakt|in orde|weer|terug|opnieuw|fix|repair"
    r"|ontstop|remov|clean|cleared|handled|sorted|resolved|replaced|again|back on|répar|repar|enlev|nettoy"
    r"|résolu|traité|remplac|nouveau|remarche|collected|picked|ramass|reparatie|vervanging|réparation|nettoyage"
)

# ... and a thanks or an earlier report (_THANKS, _EARLIER), as these words; searched first, being the
# cheaper scan. "Na de herstelling" needs the start _AFTER_HINT names.
_ABOUT_EARLIER_HINT = re.compile(
    r"dank|merci|thank|meld|report|complaint|klacht|signal|plainte|vorige keer|last time|dernière fois"
)
_AFTER_HINT = re.compile(r"\b(?:na|sinds|since|after|apres|après) (?:de|het|the|la|le|l)")


def is_reply(subject: str | None) -> bool:
    """The subject answers an earlier mail ("Re:", "Antw:", "AW:")."""
    return bool(subject and _REPLY.match(subject))


def says_done(text: str) -> bool:
    """The text says earlier work was done and goes on about something else (`drop_done` cuts)."""
    return drop_done(text) != text


def drop_done(text: str) -> str:
    """`text` without the clauses that say earlier work was done; `text` itself, untouched, when
    there is none or too little would be left."""
    lowered = text.lower()
    if _ABOUT_EARLIER_HINT.search(lowered) is not None:
        if _DONE_HINT.search(lowered) is None:
            return text
        kept = _without_done_clauses(text)
        if _BARE_THANKS_ALONE.search(kept) is not None:
            kept = _SIDE_BY_SIDE.sub(_unless_not_done, kept)
    elif _AFTER_HINT.search(lowered) is not None:  # no clause can hold: at most "na de herstelling"
        kept = text
    else:
        return text
    own = _AFTER_REPAIR.sub(" ", kept)
    if own == text:  # nothing cut: not even surrounding blanks may make it look otherwise (`says_done`)
        return text
    return own.strip() if len(own.split()) >= _MIN_REPORT_WORDS else text


def _unless_not_done(m: re.Match[str]) -> str:
    return m.group() if _NOT_DONE.search(m.group()) else " "


def _without_done_clauses(text: str) -> str:
    parts: list[str] = []
    end = 0
    for sentence in _SENTENCE.finditer(text):
        # the clause pattern is dear (a lazy scan from every position): only on the sentences that
        # have its words, and anchored at the sentence's start
        words = sentence.group()
        if not (_DONE_WORD.search(words) and (_THANKS_WORD.search(words) or _EARLIER_WORD.search(words))):
            continue
        m = _DONE_CLAUSE.match(text, sentence.start(), sentence.end())
        if m is None or _NOT_DONE.search(m.group()):
            continue
        before = text[end : m.start()]
        earlier = _EARLIER_SENTENCE.search(before)
        parts.append(before[: earlier.start()] if earlier else before)
        parts.append(" ")
        end = m.end()
    return "".join(parts) + text[end:]
