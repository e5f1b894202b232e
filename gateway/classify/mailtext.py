"""The words of a message that say what is wrong: what both routing layers read.

Citizens' mails carry much besides the report: a greeting, a quoted earlier mail about another
problem, a signature with a company name ("Boomkwekerij ...", "Signalisatie ... nv") and a legal
footer. Each of those can hold a dienst's keyword that is not the subject (issue 14). The e-mail
channel already cuts quotes and signatures on intake; a text pasted into the web form, forwarded
by the desk or sent through the API was never cut, so routing cleans every text the same way,
with the channel's own cutters (`strip_reply`, `split_signature`), plus legal footers, a
greeting line, and last paragraphs that take leave, only name the sender or add a postscript.
The subject is never touched: the problem is sometimes only there.
"""

from __future__ import annotations

import re

from gateway.channels.email.quotes import split_forward, split_signature, strip_reply, subject_says_forward
from gateway.followups import drop_done, is_reply

# A legal or technical footer: from the first paragraph that reads like one to the end.
_FOOTER = re.compile(
    r"\b(disclaimer|vertrouwelijk\w*|geadresseerde\w*|bedoelde ontvanger|confidential\w*|"
    r"intended (solely )?(only )?for|intended recipient|privileged|unauthori[sz]ed|"
    r"confidentiel\w*|destinataire|gescand op virussen|checked for viruses|scanned for viruses)\b",
    re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
# A first line that only greets: "Beste,", "Geachte mevrouw,", "Bonjour,", "Dear team,".
_GREETING = re.compile(
    r"^[ \t]*(beste|geachte|dag|hallo|hoi|hey|goe(ie|de)?(dag|morgen|middag|avond|n ?dag)|"
    r"goedenavond|bonjour|bonsoir|salut|madame|monsieur|cher|chère|hello|hi|hey there|dear|greetings|"
    r"good (morning|afternoon|evening|day))\b"
    r"[^\n.?!]{0,40}[,!:]?[ \t]*\n",
    re.IGNORECASE,
)
# A last paragraph that thanks or takes leave ("Merci de votre intervention,\nMarc"), which the
# channel's signature cutter leaves when the formula is not one of its closings.
_LEAVE_TAKING = re.compile(
    r"^[ \t]*(alvast|bedankt|dank|merci|thank|thanks|many thanks|groet|mvg|met vriendelijke|vriendelijke|"
    r"cordialement|bien cordialement|veuillez|bien à vous|salutations|kind|best|regards|warm|sincerely|"
    r"cheers|yours|hoogachtend|met de meeste hoogachting|tot )",
    re.IGNORECASE,
)
# A last paragraph that is only a name ("Nick", "Jan Peeters") under a mail whose closing the
# signature cutter did not recognize.
_BARE_NAME = re.compile(r"^[ \t]*[A-ZÀ-Ý][\w'-]*(?: [A-ZÀ-Ý][\w'.-]*){0,2}[ \t]*$")
# A postscript is a remark beside the report ("P.S. De bladeren van de boom liggen ook in de goot"):
# its words are not the subject.
_POSTSCRIPT = re.compile(r"^[ \t]*(?:p\.? ?s\.?|n\.? ?b\.?)[ :,]", re.IGNORECASE)
_MAIL_HINT = re.compile(r"\n|>|@")  # a one-line SMS has nothing to cut: skip the work

# The desk's phone notes tell what the caller first thought or asked and then what it is about
# ("eerst vroeg hij hoe laat het containerpark open is, maar eigenlijk gaat het erom dat ...",
# "had eerst een vraag over zijn parkeerkaart, beantwoord. Daarna: ..."). The aside names another
# dienst than the report (issue 14, sixth round), so it is cut like a greeting: the correction
# up to its "maar", and an answered question up to what follows it.
# Twenty-first round: callers who correct themselves in French and English as in Dutch ("a d'abord parlé
# de sa plainte, puis précisé ...", "il a commencé par dire ..., puis s'est repris", "first asked about
# permits, then said ..."), and a note that names what was first reported ("meldt eerst een rat, maar").
_THOUGHT = r"(?:dacht|vroeg|wilde|meende|vermoedde|sprak|meldt|meldde|zegt|zei)"
_CORRECTION = re.compile(
    rf"\b(?:eerst[ \t]+(?:{_THOUGHT}|over|voor)|{_THOUGHT}[ \t]+(?:hij[ \t]+|ze[ \t]+|zij[ \t]+)?eerst|"
    r"d'abord[ \t]+(?:pour[ \t]+)?(?:cru|pensé|demandé|parlé|dit|dire|signalé|signaler|voulu)"
    r"|(?:a|avait)[ \t]+commencé[ \t]+par"
    r"|at first|first (?:thought|asked|said|mentioned|talked|spoke|called))\b"
    r"[^.;:?!\n]{0,160}?,?[ \t]*\b(?:maar|mais|but|puis|then)\b[ \t]*"
    r"(?:eigenlijk[ \t]*|en fait[ \t]*|actually[ \t]*)?"
    r"(?:(?:gaat het|het gaat)[ \t]*(?:er)?om(?:[ \t]+dat)?|(?:haar|zijn) vraag is(?:[ \t]+dat)?|"
    r"il s'agit d[e']|it(?:'s| is) about)?[ \t]*",
    re.IGNORECASE,
)
_ANSWERED = re.compile(
    r"(?:\b(?:had|heeft|stelde|had eerst)?[ \t]*eerst een vraag|"
    r"\b(?:avait|a)[ \t]+d'abord[ \t]+(?:une[ \t]+question|posé[ \t]+une[ \t]+question|demandé)|"
    r"\b(?:first[ \t]+(?:had|asked)[ \t]+a[ \t]+question|had[ \t]+a[ \t]+question[ \t]+first))\b"
    r"[^.\n]{0,160}\.[ \t]*"
    r"(?:daarna|dan|vervolgens|verder|ensuite|puis|après|then|after that|next)?[ \t]*:?[ \t]*",
    re.IGNORECASE,
)

# A remark the caller sets aside ("er ligt ook zwerfvuil aan de paal, maar daar belt hij niet voor"):
# the whole sentence names what is not the report (seventh round). Only words that say so, not
# "terloops" alone: a report made in passing after an answered question is still the report.
_SET_ASIDE = re.compile(
    r"\b(?:(?:daar|daarvoor) belt (?:hij|ze|zij) niet|niet (?:waarom|waarvoor) (?:hij|ze|zij) belt|"
    r"daar gaat het(?: nu| hem| haar)? niet om|maar (?:hij|ze|zij) belt (?:voor|over|om)|"
    # The same words in the French and English notes the desk writes for callers in those languages.
    r"(?:ce n'est|c'est) pas pour (?:ça|cela) qu'(?:il|elle) appelle|"
    r"(?:il|elle) n'appelle pas pour (?:ça|cela)|"
    r"(?:that's|that is|it's|it is) not (?:why|what) (?:he|she)(?:'s| is)? (?:calling|calls|called|rang)|"
    r"(?:he|she)(?:'s| is) not calling about (?:that|it))\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# The words _MAIN_POINT needs, searched first (in lowercased text): its scan from every position is dear.
_MAIN_POINT_HINT = re.compile(
    r"gaat (?:hem|haar|hen|vooral|eigenlijk|hoofdzakelijk) |belt (?:vooral|eigenlijk|hoofdzakelijk) "
    r"|appelle (?:surtout|en fait|pour) |(?:really|mainly|actually) (?:calling )?about"
)

# The desk's note of what the call is really about, after what it names first ("er zit een dode rat in
# de kolk, maar het gaat hem vooral om de verstopping", "..., but she's mainly calling about the
# light"): the clause before it is cut like a correction (twelfth round).
_MAIN_POINT = re.compile(
    r"[^.;:?!\n]{0,200}?,?[ \t]*\b(?:maar|mais|but)[ \t]+(?:"
    r"het[ \t]+gaat[ \t]+(?:hem|haar|hen)[ \t]+(?:(?:vooral|eigenlijk|hoofdzakelijk|echt)[ \t]+)?om"
    r"|het[ \t]+gaat[ \t]+(?:vooral|eigenlijk|hoofdzakelijk)[ \t]+om"
    r"|(?:hij|ze|zij)[ \t]+belt[ \t]+(?:vooral|eigenlijk|hoofdzakelijk)[ \t]+(?:voor|over|om)"
    r"|(?:il|elle)[ \t]+appelle[ \t]+(?:surtout[ \t]+pour|en[ \t]+fait[ \t]+pour|surtout|pour)"
    r"|(?:he|she)(?:'s|[ \t]+is)[ \t]+(?:really|mainly|actually)[ \t]+(?:calling[ \t]+)?about"
    r"|it(?:'s|[ \t]+is)[ \t]+(?:really|mainly|actually)[ \t]+about)\b[ \t]*",
    re.IGNORECASE,
)


# The desk's own wrapping around a phone note (issue 14, fourteenth round): how the caller was (klant
# boos), what the desk did or must do (doorgegeven, doorverbonden met ..., terug te bellen, "klant vraagt
# wanneer iemand komt"). dev13's desk notes showed these words taken for the report: "vraagt wanneer"
# and "vraagt afspraak" are the info rules' words, a call-back and an angry customer the waste
# company's repeat complaints. A clause that is only such a remark is cut; "doorverwezen naar ..." and
# "uitgelegd" stay: they say the desk answered itself (info, 46 of 66 corpus and dev lines).
_WHO = r"(?:(?:de[ \t]+)?(?:klant|beller|melder|mevr\.?|mevrouw|dhr\.?|meneer|hij|ze|zij)[ \t]+)?"
_DESK_REMARK = re.compile(
    rf"{_WHO}(?:is[ \t]+|was[ \t]+)?(?:(?:wat|erg|zeer|heel|nogal|echt|behoorlijk|zichtbaar)[ \t]+)?"
    r"(?:boos|kwaad|ongeduldig|geïrriteerd|ontevreden"
    r"|niet[ \t]+(?:blij|tevreden|content)|ten[ \t]+einde[ \t]+raad)"
    rf"|{_WHO}(?:wil[ \t]+(?:graag[ \t]+)?|vraagt[ \t]+(?:om[ \t]+)?)?(?:(?:graag|snel|dringend)[ \t]+)?"
    r"(?:terug(?:ge)?bel(?:d|len)(?:[ \t]+(?:te[ \t]+)?worden)?|terug[ \t]+te[ \t]+bellen"
    r"|teruggebeld[ \t]+(?:te[ \t]+)?worden)"
    r"(?:[ \t]+(?:door|als|wanneer|zodra|na)\b[^.;\n]*)?"
    rf"|{_WHO}vraagt[ \t]+wanneer[ \t]+(?:er[ \t]+)?(?:iemand|ze|men|de[ \t]+dienst)[ \t]+"
    r"(?:komt|komen|langs[ \t]*komt|langs[ \t]*komen)(?:[ \t]+kijken)?"
    r"|(?:doorverbonden|doorgeschakeld)[ \t]+(?:met|naar)\b[^.;\n]*|doorgegeven(?:[ \t]+aan\b[^.;\n]*)?"
    r"|niet[ \t]+bereikt|niet[ \t]+gelukt|genoteerd(?:[ \t]+(?:als|voor)\b[^.;\n]*)?"
    # The same remarks in the notes the desk writes in English and French.
    r"|(?:(?:the[ \t]+)?(?:caller|customer|he|she)[ \t]+)?(?:was[ \t]+|is[ \t]+)?"
    r"(?:(?:very|quite|rather)[ \t]+)?(?:angry|upset|annoyed|impatient)"
    r"|(?:(?:caller|he|she)[ \t]+)?(?:wants|asks|asked)[ \t]+(?:a[ \t]+|to[ \t]+be[ \t]+)?"
    r"call(?:ed)?[ \t]*back"
    r"|call[ \t]*back(?:[ \t]+(?:tomorrow|later|requested))?"
    r"|à[ \t]+rappeler"
    r"|(?:client|cliente|monsieur|madame|il|elle)[ \t]+(?:très[ \t]+)?(?:fâché|fâchée|mécontent|mécontente)",
    re.IGNORECASE,
)
_REMARK_HINT = re.compile(
    r"boos|kwaad|ongeduld|geïrrit|ontevreden|niet (?:blij|tevreden|content)|einde raad|terug|vraagt wanneer"
    r"|doorverbonden|doorgeschakeld|doorgegeven|niet bereikt|niet gelukt|genoteerd"
    r"|angry|upset|annoyed|impatient|call ?back|called back|rappeler|fâché|mécontent"
)
# A desk note that first tells the caller's story or an earlier call, then points at the report with a
# word and a colon ("vertelt dat de buurvrouw haar haag snoeide ... Nu: de straatkolk zit vol",
# "belde eerst over de lamp (...). Eigenlijk om dit: dode vos op het fietspad"): read from the last
# such pointer on (fourteenth round). The colon is required: "nu" and "dan" in a sentence point at nothing.
_NOW_THE_REPORT = re.compile(
    r"(?:^|(?<=[\s.,;(]))(?:nu|daarna|dan|vervolgens|uiteindelijk"
    r"|eigenlijk(?:[ \t]+(?:om[ \t]+dit|gaat[ \t]+het[ \t]+om"
    r"|belt[ \t]+(?:hij|ze|zij)[ \t]+(?:voor|om|over)))?"
    r"|(?:de[ \t]+)?eigenlijke[ \t]+melding|reden[ \t]+(?:van[ \t]+de[ \t]+)?oproep"
    r"|now|then|in[ \t]+the[ \t]+end|actually|maintenant|ensuite|finalement|en[ \t]+fait)[ \t]*:[ \t]*",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[^.,;:!?\n]+[.,;:!?]*")
_CLAUSE_END = ".,;:!? \t"


def _drop_desk_remarks(text: str) -> str:
    """`text` without the clauses that are only the desk's remarks (_DESK_REMARK)."""

    def keep(m: re.Match[str]) -> str:
        clause = m.group().strip(_CLAUSE_END)
        return "" if clause and _DESK_REMARK.fullmatch(clause) else m.group()

    return _CLAUSE.sub(keep, text)


def routing_text(text: str, subject: str | None = None) -> str:
    """`text` without quoted history, legal footer, signature, greeting, a desk note's aside and
    what the writer says was done; `text` if nothing is left. A forward is read as the message it
    forwards."""
    return routing_parts(text, subject)[0]


def routing_parts(text: str, subject: str | None = None) -> tuple[str, str | None]:
    """What routing reads: (`routing_text`, the subject), the subject None for a reply whose own
    words say the thread's problem was dealt with and name another ("Re: pothole ...": "thanks for
    fixing the pothole; now the zebra crossing is half gone"; `gateway.followups`)."""
    original = text
    said_done = _MAIL_HINT.search(original) is not None and drop_done(original) != original
    text = desk_text(text)
    if _MAIL_HINT.search(text):
        # a note that says the forwarded problem is over and reports another is the report itself
        body = strip_reply(text if said_done else forwarded_body(text, subject))
        body = _drop_footer(body)
        body, _signature = split_signature(body)
        body = _drop_leave_taking(_GREETING.sub("", body, count=1))
        text = body.strip() or text
    own = drop_done(text)
    if not is_reply(subject):
        return own, subject
    # the desk note's pointer ("Maar nu: ...") may have cut the thank-you already: the whole says
    return own, None if said_done or own != text else subject


def forwarded_body(text: str, subject: str | None = None) -> str:
    """The forwarded message's body when `text` forwards one, else `text`: a client's forward
    marker, or (Outlook) a reply separator under a subject that says "Fwd:" / "TR:".

    A forward is the report ("Zie hieronder, kan dit bij de juiste dienst?" above it says nothing):
    the e-mail channel routes the forwarded message itself (`parse._forwarded_report`); a forward
    pasted into the form, sent through the API or kept whole in a file would otherwise be cut at
    the marker like a quoted reply, leaving only the note (seventh round).
    """
    forward = split_forward(text, subject_says_forward(subject))
    return forward[2] if forward and forward[2].strip() else text


def _drop_footer(text: str) -> str:
    paragraphs = _PARAGRAPH.split(text)
    for i, paragraph in enumerate(paragraphs[1:], 1):  # the first paragraph is the report itself
        if _FOOTER.search(paragraph):
            return "\n\n".join(paragraphs[:i])
    return text


def _drop_leave_taking(text: str) -> str:
    """Without the last paragraphs that take leave, only name the sender, or add a postscript."""
    paragraphs = _PARAGRAPH.split(text.strip())
    while len(paragraphs) > 1:
        last = paragraphs[-1]
        short = len(last) <= 120 and last.count("\n") <= 3
        if not ((short and _LEAVE_TAKING.match(last)) or _BARE_NAME.match(last) or _POSTSCRIPT.match(last)):
            break
        paragraphs.pop()
    return "\n\n".join(paragraphs)


def desk_text(text: str) -> str:
    """A desk note without what the caller first thought or asked, or set aside, without the story
    told before the pointer to the report, and without the desk's own remarks (`text` if nothing is
    left)."""
    body = text
    if re.search(r"eerst|abord|first|commencé", body, re.IGNORECASE):
        body = _ANSWERED.sub("", _CORRECTION.sub("", body))
    if _MAIN_POINT_HINT.search(body.lower()):
        body = _MAIN_POINT.sub(" ", body)
    if _SET_ASIDE.search(body):
        body = _SENTENCE.sub(lambda m: "" if _SET_ASIDE.search(m.group()) else m.group(), body)
    if ":" in body:
        pointers = list(_NOW_THE_REPORT.finditer(body))
        if pointers and len(body[pointers[-1].end() :].split()) >= 3:  # a report follows, not a word
            body = body[pointers[-1].end() :]
    if _REMARK_HINT.search(body.lower()):
        body = _drop_desk_remarks(body)
    body = _drop_taken_back(body)
    return body if body.strip() else text


# ---- what the caller named first and then took back (twenty-sixth round) ------------------------
# "Dhr. belt over 'een kapotte verlichting'. Bij doorvragen gaat het niet om de lamp: ...",
# "Appelante signale d'abord « un feu rouge cassé » ; en fait il s'agit d'un lampadaire ...": after
# a first naming (a quoted word, "eerst", "d'abord", "first"), the words that say the desk asked on
# or the caller corrected himself point at the report: read from there. Without a first naming
# "en fait" and "in feite" are fillers and point at nothing.
_RECONSIDERED = re.compile(
    r"\b(?:bij|na)[ \t]+(?:verder[ \t]+)?(?:doorvragen|navragen|navraag|nader[ \t]+inzien)\b"
    r"|\bpuis[ \t]+(?:précise|précisé|se[ \t]+reprend|corrige)\b|\ben[ \t]+fait\b|\bin[ \t]+feite\b"
    r"|\bin[ \t]+werkelijkheid\b|\b(?:it[ \t]+)?turn(?:s|ed)[ \t]+out(?:[ \t]+(?:to[ \t]+be|that))?\b"
    r"|\bon[ \t]+closer[ \t]+(?:questioning|look)\b|\bwhen[ \t]+asked[ \t]+(?:further|again|more)\b"
    # "first says there's 'a hole in the road'. On asking: a manhole cover" (twenty-eighth round)
    r"|\bon[ \t]+(?:further[ \t]+)?(?:asking|questioning)\b"
    # "Beller begint over de straatlamp, maar die brandt wel; het gaat om het fietsenrek", "Wat hij
    # eigenlijk wil melden: ...", "Haar eigenlijke vraag: ..." (twenty-ninth round), "wat ze eigenlijk
    # komt melden" (thirtieth)
    r"|\b(?:het[ \t]+gaat|gaat[ \t]+het)[ \t]+(?:(?:eigenlijk|wel|dus)[ \t]+)?om\b"
    # "Waar het hem om gaat: de vuilbak ..." (thirtieth round, read in issue14ba)
    r"|\bwaar[ \t]+het[ \t]+(?:hem|haar|hen)[ \t]+(?:(?:eigenlijk|echt|wel)[ \t]+)?om[ \t]+gaat\b"
    r"|\bwat[ \t]+(?:hij|ze|zij|meneer|mevrouw|de[ \t]+beller)[ \t]+(?:(?:eigenlijk|echt|wel)[ \t]+)?"
    r"(?:wil|komt)[ \t]+(?:melden|vragen|weten|signaleren)\b"
    r"|\b(?:haar|zijn)[ \t]+(?:eigenlijke|echte)[ \t]+(?:vraag|melding)\b"
    r"|\bwhat[ \t]+(?:he|she)[ \t]+(?:(?:actually|really)[ \t]+)?wants[ \t]+to[ \t]+"
    r"(?:report|ask|know)\b"
    r"|\bce[ \t]+qu'(?:il|elle)[ \t]+veut[ \t]+(?:(?:vraiment|en[ \t]+fait)[ \t]+)?"
    r"(?:signaler|demander|savoir)\b"
    r"|\b(?:sa|leur)[ \t]+(?:vraie|véritable)[ \t]+question\b",
    re.IGNORECASE,
)
_FIRST_NAMED = re.compile(
    r"(?<!\w)'[^'\n]{2,60}'(?!\w)|«[^»\n]{2,60}»|“[^”\n]{2,60}”|‘[^’\n]{2,60}’|\"[^\"\n]{2,60}\""
    r"|\beerst\b|\bd'abord\b|\bfirst\b|\bbegint[ \t]+over\b",
    re.IGNORECASE,
)
# "Het verkeerslicht aan de nee sorry het is de lantaarnpaal", "wespennest in de brievenbus, nee sorry,
# in de paal van het bord ernaast": the words after the correction replace the last words before it
# that start the same way ("het ...", "in ..."); where none do, only the correction itself is cut.
_SELF_CORRECTION = re.compile(
    r"[ \t]*(?:\.\.\.|…)?[ \t]*,?[ \t]*\b(?:neen?[ \t]*,?[ \t]*sorry|sorry[ \t]*,?[ \t]*neen?"
    r"|no[ \t]*,?[ \t]*sorry"
    r"|sorry[ \t]*,?[ \t]*no|non[ \t]*,?[ \t]*pardon|pardon[ \t]*,?[ \t]*non)\b[ \t]*,?[ \t]*"
    r"(?:(?:ik[ \t]+bedoel|i[ \t]+mean|je[ \t]+veux[ \t]+dire)\b[ \t]*:?[ \t]*)?",
    re.IGNORECASE,
)
_RESTART_REACH = 80  # characters before the correction in which its restart is looked for
# "Het is niet het verkeerslicht", "ce n'est pas un graffiti", "it's not the lamp": in a note that
# corrects itself, a thing named to say it is not the one (up to the clause's end, three words at most).
_NOT_THIS = re.compile(
    r"\b(?:het[ \t]+is[ \t]+niet|'t[ \t]+is[ \t]+niet|(?:het[ \t]+gaat|gaat[ \t]+het)[ \t]+niet[ \t]+om"
    r"|bedoel[td]?[ \t]+(?:(?:hij|ze|zij|ik)[ \t]+)?niet"
    r"|ce[ \t]+n'est[ \t]+pas|c'est[ \t]+pas|il[ \t]+ne[ \t]+s'agit[ \t]+pas[ \t]+d(?:e|u|')"
    r"|it(?:'s|[ \t]+is)[ \t]+not|it[ \t]+isn't)[ \t]+"
    r"(?:(?:de|het|een|the|a|an|un|une|le|la|les|l'|du|des)[ \t]*)?(?P<named>[\w'-]+(?:[ \t]+[\w'-]+){0,2}?)"
    r"(?=[ \t]*(?:[,.;:!?(\n]|\ballee\b|\bmaar\b|\bmais\b|\bbut\b|\bc'est\b|\bhet[ \t]+is\b|$))",
    re.IGNORECASE,
)


# Every reading above needs one of these words (searched in lowercased text, without IGNORECASE: the
# common text, which has none, costs one cheap scan).
_TAKEN_BACK_HINT = re.compile(
    r"doorvragen|navragen|navraag|nader|précis|reprend|corrige|en fait|in feite|werkelijkheid|turn"
    r"|closer|asked|asking|questioning|sorry|pardon|gaat het|het gaat|wil melden|wil vragen|wil weten"
    r"|wil signaleren|komt melden|komt vragen|om gaat|eigenlijke|echte|wants to|veut|vraie|véritable"
)


def _drop_taken_back(body: str) -> str:
    """`body` read from the last pointer after a first naming, each self-correction replacing the
    words it corrects, and then without what it says the report is not."""
    if _TAKEN_BACK_HINT.search(body.lower()) is None:
        return body
    corrected = False
    pointers = [m for m in _RECONSIDERED.finditer(body) if _FIRST_NAMED.search(body, 0, m.start())]
    if pointers and len(body[pointers[-1].end() :].split()) >= 3:
        body = body[pointers[-1].end() :].lstrip(" \t:,")
        corrected = True
    while (m := _SELF_CORRECTION.search(body)) is not None:
        after = body[m.end() :]
        words = after.split()
        if not words:
            break
        start = m.start()
        first = re.escape(words[0].strip(",.:;").lower())
        restarts = list(re.finditer(rf"\b{first}\b", body[: m.start()].lower()))
        if first and restarts and m.start() - restarts[-1].start() <= _RESTART_REACH:
            start = restarts[-1].start()
        body = body[:start].rstrip() + " " + after
        corrected = True
    return _drop_not_this(body) if corrected else body


_FUNCTION_WORDS = frozenset(["dat", "die", "wat", "that", "which", "qui", "que", "dont"])


def _drop_not_this(body: str) -> str:
    """Without what the note says the report is not, nor that thing's earlier mentions ("ik bel voor
    het verkeerslicht ... het is niet het verkeerslicht, het is de straatlamp")."""
    for m in reversed(list(_NOT_THIS.finditer(body))):
        named = [w for w in re.findall(r"[\w-]{4,}", m.group("named").lower()) if w not in _FUNCTION_WORDS]
        before = body[: m.start()]
        for word in named:
            before = re.sub(rf"\b{re.escape(word)}\b", " ", before, flags=re.IGNORECASE)
        body = before + " " + body[m.end() :]
    return body.strip(" \t:,;")
