"""What a melding asks for, beside what it names (issue 14, twelfth round).

A keyword says what a text names, not what it asks: "de bak zit vol en er zitten wespen in, kunnen
ze die komen ledigen?" names wasps and asks for an emptying; "any news on my report about the rats?"
names rats and asks how an earlier report stands; "krijg ik een premie voor een regenwaterput?"
names a rain-water tank and asks the desk about a premium. The router reads these here:

- `earlier_report`: the text asks how an earlier report stands (the desk's answer: info);
- `asks_about_a_grant`: a question about a premium, subsidy or permit (info);
- `asked_words`: the words of the request ("kunnen jullie ... komen", "graag ...", "could you ...",
  "pourriez-vous ..."), for the rules to say whose work it asks for;
- `complains_by_asking` and `asks_permission` (fifteenth round): a complaint asked as a question ("is
  dat toegelaten?"), the writer's own permission question ("mag ik ...?");
- `fine_objects` (sixteenth round): the diensten whose object the text says is fine ("de lamp zelf
  brandt wel"), named to say they are not what is reported; since the twenty-first round any dienst's
  object ("the drain is not blocked", "les bancs sont en bon état");
- `asks_for_the_calendar` (seventeenth round): a question where to find the collection calendar (the
  desk's answer); `asks_the_price` (twenty-sixth round): what something costs; `asks_the_schedule`
  (thirty-third round): when or how often a service passes;
- `after_first_question` (thirty-fourth round): what a caller asked after first asking something else.

Green named as the cause of another dienst's problem (roots that lifted a pavement) is read in `causes`.

Each starts with one cheap search for its trigger words (`_MAY_ASK`, `_MAY_QUESTION`,
`_MAY_BE_FINE`), so the common text, which has none, costs one regex scan. The patterns are lowercase
and searched in lowercased text: Python's re runs these alternations about three times slower with
IGNORECASE.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.classify.causes import CLAUSE_END

if TYPE_CHECKING:
    from gateway.classify.rules import RuleRouter

# Any of the three needs one of these words; most texts have none and are done after one scan.
_MAY_ASK = re.compile(
    r"melding|gemeld|report|signal|demande|suivi|premie|subsid|vergunning|toelating|prime|permis|grant"
    r"|permit|kunnen|kunne|kunt|\bkan\b|graag|gelieve|a\.?u\.?b|could|\bcan\b|please|pls|pourr|pouvez"
    r"|merci d|svp|s'il vous|vraagt|kalender|calendar|calendrier|kost|betaal|combien|how much|cost|price|fee"
    r"|prix|tarif|doorgegeven|schedule|timetable|rota|hoe vaak|how often|quelle|quand|when",
)

# ---- a question about an earlier report ("mijn melding van vorige week", "any news on my report")
_REPORT = r"(?:melding|meldingen|report|complaint|klacht|signalement|demande|plainte)"
_EARLIER = re.compile(
    # West-Flemish "myn melding" and informal "m'n melding" too (thirty-second round, read in issue14bp).
    rf"\b(?:mijn|myn|m'n|haar|zijn|onze|uw|ons|my|her|his|our|ma|mon|sa|son|notre)\s+(?:\w+\s+)?{_REPORT}\b"
    r"|\b(?:heb|had|hebben|hadden|heeft|k'en|k'ee)\s+(?:\S+\s+){0,10}?(?:gemeld|doorgegeven|gesignaleerd)\b"
    r"|\b(?:ik|we|wij|hij|ze|zij)\s+(?:\w+\s+)?meldde\w*\b"
    # Twenty-first round: the verb before its subject after a time word ("vorige week meldde hij").
    r"|\bmeldde\w*\s+(?:ik|we|wij|hij|ze|zij)\b"
    r"|\b(?:i|we|she|he)\s+(?:\w+\s+)?(?:reported|rang about|called about)\b"
    r"|\breported(?<!\w\sreported)\s+(?:a|an|the)\b"  # telegraphic: "Reported a pothole ..." (28th round)
    r"|\b(?:j'ai|nous avons|il a|elle a)\s+(?:\w+\s+)?(?:signalé|déclaré)"
    r"|\b(?:referentie|reference|référence|ref\.?|nummer|number|numéro)\s*:?\s*(?:1777|\d{4,})"
    # "is die lamp van vorige week al doorgegeven?": the thing reported, dated (twenty-ninth round)
    r"|\b(?:die|dat|de|het|the|that|ce|cette|la|le)\s+(?:\w+\s+){1,2}?(?:van|from|de)\s+(?:vorige\s+week|gisteren"
    r"|eergisteren|last\s+week|yesterday|la\s+semaine\s+(?:dernière|passée)|hier)\b",
)
_HOW_IT_STANDS = re.compile(
    r"al iets (?:mee )?(?:gebeurd|gedaan)|iets mee gebeurd|al doorgegeven|doorgegeven is|behandeld"
    r"|opgevolgd|stand van zaken|nog (?:niks|niets) (?:gehoord|gezien|vernomen)"
    r"|nooit (?:\w+ )?(?:bevestiging|antwoord|reactie)"
    r"|staat nog (?:altijd |steeds )?op|wie volgt|al (?:iets )?gepland|hoe ver|wat er met .{0,30}gebeurd"
    # When the repair comes (thirteenth round: "wil weten of er al een datum is voor de herstelling").
    r"|al een (?:datum|planning)|(?:herstelling|herstel) (?:is )?(?:gepland|voorzien)"
    r"|wanneer (?:het|dat|die|dit|de herstelling|ze) (?:\w+ )?(?:hersteld|gerepareerd|opgelost|komen|komt)"
    r"|any news|an update|any update|whether it has|has it been|been passed on|passed on|heard back|no reply"
    r"|who is dealing|still on the list|what happened to|status of"
    r"|(?:repair|fix) (?:is |has been )?(?:planned|scheduled)"
    r"|when (?:it|this|that) will be (?:fixed|repaired|done)"
    r"|où en est|suivi de|des nouvelles|pas de (?:réponse|nouvelles)|a-t-elle été|a été transmis"
    r"|(?:réparation|intervention)[^.?!\n]{0,20}(?:prévue|planifiée)"
    # Twenty-eighth round: whether word will still come ("krijgk nog bericht of nie?", "nog geen antwoord"),
    # "is it fixed or not?", "still says Geregistreerd".
    r"|krijg\w*\s+(?:\w+\s+)?nog\s+(?:een\s+)?(?:bericht|antwoord|nieuws|reactie)"
    r"|nog\s+(?:altijd\s+|steeds\s+)?(?:geen|gin|niks|niets|nix)\s+(?:bericht|antwoord|nieuws|reactie)"
    r"|(?:fixed|repaired|done)\s+(?:yet|or\s+not)|still\s+(?:says|shows)\b"
    # Thirty-second round (read in issue14be, bk and bp): "was it rescued?", "is da nu weggehoald of nie?",
    # "k'en niks mi gehoord", "of die verlichting nu gepland is, afgewezen, of nog onderzocht wordt".
    r"|\b(?:was|were|has|have)\s+(?:it|they|he|she|that|this)\s+(?:been\s+|already\s+|ever\s+)?\w+ed\s*\?"
    r"|\bof\s+niet?\s*\?|\bor\s+not\s*\?|\b(?:niks|niets|nix)\s+(?:meer|mi|mier)\s+(?:gehoord|vernomen)"
    r"|\b(?:nu|intussen)\s+(?:al\s+)?(?:gepland|goedgekeurd|afgewezen|beslist)\b",
)

# ---- a question about a premium, subsidy or permit: the desk answers it
_GRANT = (
    r"(?:\w*premie|\w*subsidie|subsidi\w*|\w*vergunning|toelating|prime|primes|permis|grant|grants"
    r"|permit|permits|subsid\w*)"
)
# The premium or permit is what is asked for ("een premie voor ...", "vergunning nodig?", "is there a
# grant"), not a word in a complaint ("ze vraagt wie de vergunning van die werf controleert").
_GRANT_ASKED = re.compile(
    rf"\b{_GRANT}\b(?:\s+\S+){{0,3}}?\s+(?:voor|om|pour|for|to|nodig|need\w*|required|aan\s+te\s+vragen|aanvra\w*"
    r"|apply|demander|bestaat|existe|krijgen)\b"
    rf"|\b(?:krijg|krijgen|is\s+er|bestaat\s+er|geeft|is\s+there|are\s+there|any|existe|y\s+a-t-il|need|nodig)\b"
    rf"(?:\s+\S+){{0,3}}?\s+{_GRANT}\b",
)
_QUESTION = re.compile(
    r"\?|\bask(?:s|ed|ing)?\s+(?:whether|if)\b"  # "and ask whether they need a permit" (28th round)
    r"|\b(?:vraagt|vroeg|wil weten|wenst te weten|asks|asked|wants to know|demande|voudrait savoir"
    r"|bestaat er|is er|krijg ik|heb ik|hebben we|moet ik|mag ik|is there|do i|do we|can i|existe|faut-il)\b",
)
# A question the desk already answered is an aside ("vroeg eerst naar de premie, doorverwezen").
_ANSWERED = re.compile(
    r"\b(?:eerst|first|d'abord|doorverwezen|uitgelegd|beantwoord|answered|explained|referred|renvoy\w*|expliqu\w*)\b",
)

# ---- the words of a request: from the request verb to the end of its sentence
_REQUEST = re.compile(
    r"\b(?:kunnen|kunne|kunt|kan|zou|zouden|willen|wil)\s+(?:jullie|julder|u|ge|gij|iemand|er\s+iemand|ze|zij"
    r"|de\s+stad|de\s+dienst)\b"
    r"|\b(?:graag|gelieve|vraagt\s+(?:om|dat)|verzoekt)\b|\bvraagt\b(?=\s+\w+ing\b)"
    r"|\b(?:could|can|would|will)\s+(?:you|someone|somebody|anyone|the\s+council|the\s+city)\b|\bplease\b"
    r"|\b(?:pourriez|pouvez|pourrait|pourraient|voudriez)[- ](?:vous|on|ils)\b|\bmerci\s+d(?:e\b|')"
    r"|\bveuillez\b"
    # A desk note's "Vraagt een extra lichtpunt" (thirty-first round, read in issue14bi): the thing asked
    # for, named right after the verb.
    r"|\b(?:vraagt|vroeg)\b(?=\s+(?:een|extra|nieuwe?)\b)",
)
_SENTENCE_END = re.compile(r"[.?!\n]")
# A request ends at its clause: "graag verwijderen; de boom zelf mag blijven staan" asks no bin work, and
# "could you put it back up because there are a lot of deer there" gives a reason, no other work.
_ASKED_END = re.compile(rf"{CLAUSE_END.pattern}|\b(?:because|omdat|aangezien|parce\s+que|puisque)\b")
# "Ik wil graag ...", "ik hoor graag ...": the writer's own wish, no request for work.
_WISH = re.compile(r"\b(?:ik|we|wij|i|hoor|horen|wil|willen|zou|zouden|had|hadden)\s+(?:\w+\s+)?$")
# "Could you let me know when ..." asks the desk for an answer, not a dienst for work.
_ASKS_TO_BE_TOLD = re.compile(
    r"^(?:(?:me|mij|ons|us|moi|nous)\s+)?(?:(?:had|zou)\s+ik\s+(?:\w+\s+)?(?:geweten|weten)|weten|know|savoir|let\s+(?:me|us)\s+know|tell\s+(?:me|us)|inform|laten\s+weten|zeggen|informeren"
    r"|uitleggen|explain|dire|faire\s+savoir|indiquer|expliquer|confirm|bevestigen)\b",
)
# "Please leave the leaf litter underneath", "laat de bladeren liggen": a wish that something is not done,
# no request for anyone's work (twenty-sixth round).
_LEAVE_IT = re.compile(r"\s*(?:leave|laat|laten|laissez|laisser|do\s+not|don't|niet)\b")
# Emptying is the waste company's work (a household container) and Nette Stad's (a public bin): in
# the corpus "lediging" is in 9 afvalophaling lines and 2 of Nette Stad ("vraagt lediging").
_EMPTYING = re.compile(
    r"\b(?:lediging|ledigen|geledigd|leegmaken|leeg\s+maken|empty|emptied|emptying|vider|vidé|vidange)\b",
)
EMPTYING_WORK = ("afvalophaling", "nette_stad")
_DRAIN = re.compile(
    r"\b(?:\w*kolke?n?|\w*putjes?|rioolput\w*|riool|gull(?:y|ies)|drains?|avaloirs?|égouts?)\b"
)
SUPPORTING = 2.0  # the rules' weight for supporting evidence (config/diensten.toml); a hint is less
_MIN_ASKED_CHARS = 8  # "graag." or "please!" alone asks for nothing in particular


# ---- a question that is a complaint (fifteenth round): "is dat toegelaten?", "mag da zomaar?",
# "vraagt of dat normaal is", "is that allowed? we want it stopped", "est-ce normal ?". The question
# asks about what the writer sees, not what the desk knows: none of the 41 corpus and dev texts that
# have it is labelled info (23 of them in dev14, 18 elsewhere, this round's corpus lines included).
_COMPLAINT_QUESTION = re.compile(
    # "Ik weet niet of dat mag": the writer's own doubt about what he may do, no complaint (26th round).
    r"(?<!weet niet )(?<!weet ik niet )(?<!not sure )(?<!ne sais pas )"
    r"\b(?:of|whether|if|si)\s+(?:dat|dit|da|that|this|it|ça|cela|c'est)\s+(?:\w+\s+)?"
    r"(?:mag|toegelaten|toegestaan|normaal|allowed|legal|normal|permis|autorisé)\b"
    r"|\b(?:mag|mogen)\s+(?:dat|da|dit)\s*(?:zomaar|zo|eigenlijk|wel)?\s*\?"
    r"|\b(?:is|was)\s+(?:dat|da|dit|that|this)\s+(?:\w+\s+)?(?:toegelaten|toegestaan|normaal|allowed|legal|normal)\b"
    # "est-ce permis de nourrir les pigeons ?" asks a rule, not about what the writer sees (33rd round,
    # issue14bu)
    r"|\best-ce normal\b|\best-ce (?:permis|autorisé)\b(?!\s+d['e])|\bc'est (?:normal|permis)\s*\?"
    r"|\bwants? (?:it|this|that|them) (?:to )?stop|\bwil dat (?:het|dat|dit) (?:\w+ )?(?:stopt|ophoudt)",
)
# ---- the writer asks whether he himself may do something ("mag ik ...", "mag mijn hond ...", "is it
# allowed to park ... my own house", "est-il permis de ..."): the desk answers it. In the corpus and the
# dev sets but dev14, 16 of the 19 texts that have it are labelled info (the others: "mag ik een
# grotere gft bak", a request, and two that name the words in passing); in dev14 5 of 6.
_OWN_PERMISSION = re.compile(
    r"\b(?:mag|mogen|moag|meug)\s+(?:ik|wij|we|mijn|onze|men)\b(?![^.?!\n]*\bmelden)"
    r"|\bis het (?:toegelaten|toegestaan) om\b"
    r"|\b(?:am i|are we) allowed\b|\bmay i\b|\bis it (?:allowed|legal|permitted) to\b[^.?!\n]*\b(?:my|our)\b"
    # "Que peut-on faire ?" asks what can be done about it, not whether the writer may (twenty-sixth round).
    r"|\b(?:est-il|est-ce) (?:permis|autorisé) d['e]|\bai-je le droit\b"
    r"|(?<!que )(?<!qu'est-ce qu'on )\bpeut-on\b",
)
# ---- the writer says the object of one dienst is fine (sixteenth round): "de lamp zelf brandt wel",
# "het bord is nog leesbaar", "the lamp is fine", "l'éclairage fonctionne", "le panneau n'est pas
# abîmé". He names it to say it is not what he reports (stickers on the lamp post, a bee swarm on the
# sign, a tree over the lamp): that dienst is the one not to act. None of the corpus and dev texts the
# reading finds is labelled with the dienst of the object said to be fine (docs/routing-rounds.md,
# "Sixteenth round").
_FINE_OBJECTS = {
    "verlichting": r"lamp|lampe|licht|light|street\s+light|straatlamp|lantaarnpaal|lichtpaal|verlichting"
    r"|éclairage|lampadaire",
    # Twenty-first round: every dienst's objects, not only lamps and signs (a mirror, road markings,
    # grass and hedges, pavements, a container, a drain or grate, the fish in the water).
    "signalisatie": r"bord|verkeersbord|sign|panneau|feu|feux|verkeerslicht\w*|traffic\s+lights?|\w*spiegel"
    r"|mirror|miroir|markering\w*|markings?"
    r"|marquages?",
    "groen": r"boom|bomen|tree|trees|arbre|arbres|gras|grass|herbe|haag|hedge|haie",
    "wegen": r"wegdek|road|bank|banken|bench|benches|bancs?|chaussée|voetpad|stoep|trottoir|pavement"
    r"|footpath|fietspad|bike\s+path|piste\s+cyclable|asfalt|asphalt|tarmac|klinkers|kasseien|bestrating",
    "afvalophaling": r"glasbol\w*|bottle\s+banks?|bulles?(?:\s+à\s+verre)?|containers?|conteneurs?",
    "riolering": r"gracht|ditch|fossé|\w*kolk|rooster|riool|rioolput\w*|\w*putje|drain|grate|gully"
    r"|égout|avaloir|grille",
    "dieren": r"vissen|fish|poissons|eenden|ducks|canards|vogels|birds|oiseaux",
}
# A complement may say whose object it is ("l'éclairage de la passerelle est en ordre").
_OF_WHAT = r"(?:\s+(?:van\s+de|van\s+het|of\s+the|de\s+la|du|des|de\s+l')\s*[\w-]+)?"
_END = r"(?=\s*(?:[.,;!\n]|maar\b|but\b|mais\b|$))"  # the statement ends: "brandt weer niet" is no reading
# Twenty-eighth round (read in issue14y and z): two objects at once ("verkeersborden en markering zijn daar
# in orde"), the place ("daar", "hier") and what surrounds ("the asphalt around it is fine").
_AND_ONE_MORE = r"(?:\s+(?:en|and|et)\s+(?:(?:de|het|the|la|le|les)\s+)?[\w-]+)?"
_FINE = (
    rf"{_AND_ONE_MORE}{_OF_WHAT}(?:\s+(?:zelf|itself|themselves|lui-même|elle-même|eux-mêmes|ernaast|next\s+to\s+it"
    r"|à\s+côté|around\s+it|errond|eromheen|rondom))?\s+(?:"
    r"(?:is|zijn|lijkt|lijken|staat|staan)(?:\s+(?:zelf|nog|gewoon|wel|nochtans|trouwens|overigens|daar|hier))*\s+"
    r"(?:in\s+orde|ok|oké|intact|heel(?=\s*(?:[.,;!\n]|maar\b|$))|niet\s+(?:kapot|beschadigd|stuk)"
    rf"|nog\s+leesbaar|leesbaar|in\s+goede\s+staat|recht(?:op)?{_END})"
    # "werkt wel prima" (twenty-seventh round, read in issue14r)
    r"|(?:brandt|werkt|branden|werken)(?:\s+(?:wel|gewoon|nog|normaal|weer|opnieuw|prima|perfect|goed))*"
    rf"{_END}"
    r"|(?:is|are|looks?|seems?)(?:\s+(?:still|otherwise|perfectly))?\s+(?:fine|ok|okay|intact|undamaged"
    r"|not\s+damaged|in\s+good\s+(?:condition|shape|order))|(?:is|are)\s+still\s+(?:standing|upright)"
    rf"|(?:still\s+)?works?(?:\s+(?:fine|normally|again))?{_END}|can\s+still\s+be\s+read"
    r"|(?:fonctionnent|fonctionne|marchent|marche)(?:\s+(?:bien|normalement|encore|à\s+nouveau"
    rf"|de\s+nouveau))?{_END}"
    r"|n'est\s+pas\s+(?:abîmé|abîmée|cassé|cassée|endommagé|endommagée)|est\s+intacte?"
    r"|(?:reste|est\s+encore)\s+lisible"
    r"|(?:est|sont)(?:\s+(?:toujours|encore|bien))?\s+(?:en\s+ordre|en\s+bon\s+état|intacts?|intactes?|debout)"
    # Not blocked (a drain, a ditch): "niet verstopt, maar het rooster ligt los" is its dienst's fault.
    rf"|(?:is|zijn)\s+niet\s+verstopt{_END}(?!\s*,?\s*maar)"
    # Not full (a container, a bottle bank: what is dumped beside it is another dienst's; 26th round).
    rf"|(?:is|zijn)\s+(?:nog\s+)?niet\s+vol{_END}|(?:is|are)\s+(?:still\s+)?not\s+full{_END}"
    rf"|(?:isn't|aren't)\s+full{_END}"
    rf"|(?:n'est|ne\s+sont)\s+pas\s+(?:plein|pleine|pleins|pleines){_END}"
    # a drain that drains: "loopt goed door", "loopt goed af" (twenty-seventh round)
    r"|loopt(?:\s+(?:goed|vlot|normaal|nog|wel))*\s+(?:door|af)"
    # "De boom mag van mij blijven", "the tree can stay" (twenty-sixth round)
    r"|mag(?:\s+(?:van\s+mij|gerust|wel))*\s+blijven|(?:may|can)\s+stay|peut\s+rester"
    rf"|(?:is|are)\s+not\s+(?:blocked|clogged){_END}(?!\s*,?\s*but)"
    rf"|n'est\s+pas\s+bouchée?{_END}(?!\s*,?\s*mais)"
    # "Het gras is net gemaaid, dat is in orde": a word on the object, then that it is fine.
    r"|(?:is|zijn|are|est|sont)\s+[^.;,!?\n]{1,30},\s+(?:dat|that|ça|cela|c'est)\s+(?:is\s+|'s\s+|est\s+)?"
    r"(?:in\s+orde|ok|fine|en\s+ordre))"
)
_FINE_OBJECT = re.compile(
    "|".join(rf"\b(?P<{dienst}>{words}){_FINE}" for dienst, words in _FINE_OBJECTS.items())
)
# "Geen enkele lamp brandt", "no light works": the object's dienst is the one to act.
# Twenty-sixth round: West-Flemish "gin enkele lampe brandt", "gene lamp".
_NOT_ONE = re.compile(
    r"\b(?:geen|gin|gene|no|not\s+a|aucun|aucune|nul|nulle)\s+(?:enkele\s+|single\s+|seule\s+)?$"
)
# "De lamp brandt maar half", "the light works, but it flickers", "brandt, ook overdag": what follows
# the words "it works" says how it fails, so the object is not fine after all (its dienst is the one to
# act). Looked for in the stretch after the reading; a fault word there drops it.
_FAULT_AFTER = re.compile(
    r"flikker|knipper|flicker|blink|clignot|overdag|daytime|during\s+the\s+day|en\s+(?:pleine\s+)?journée"
    r"|en\s+plein\s+jour|\bhalf\b|\ba\s+moitié|af\s+en\s+toe|\bsoms\b|sometimes|\bzwak|\bdim\b|faible"
    r"|niet\s+altijd|not\s+always|pas\s+toujours|\bmal\b|intermittent|aan\s+en\s+uit|uit\s+en\s+aan"
    r"|on\s+and\s+off|off\s+and\s+on|scheef|schuin|leans|leaning|penche|tilted"
    # "Brandt weer, maar valt na een uur uit" (twenty-first round: "werkt weer" is read as fine).
    r"|(?:valt|gaat)\s+(?:\w+\s+){0,4}?uit\b|goes\s+(?:out|off)|cuts\s+out|s'éteint|s'éteignent"
    # Thirty-first round (read in issue14at and au): "the lamp still works but the base is cracked", "the
    # sign itself is fine, it's the pole": the object's own pole or base is at fault, its dienst acts.
    r"|(?:\bmaar|\bbut|\bmais|,\s*(?:it's|it\s+is|het\s+is|c'est))\s+(?:\w+\s+){0,2}?"
    r"(?:base|foot|pole|post|mast|voet|sokkel|paal|pied|socle|poteau|mât)\b"
)
_FAULT_REACH = 60  # characters after the reading: the rest of its sentence and the start of the next
# "De lichtmast is scheef gezakt na een aanrijding, de lamp brandt nog wel" (eighteenth round): the lamp
# works but its own pole, named as the subject of the damage in that sentence or the one before, is what is
# reported, so verlichting is the one to act after all. Not a pole named as a place ("de tak naast de
# lichtpaal is afgebroken", "the poplar next to the lamp post is leaning"): that damage is the tree's.
_POLE_DAMAGED = re.compile(
    r"(?<!naast de )(?<!tegen de )(?<!bij de )(?<!aan de )(?<!op de )(?<!next to the )(?<!near the )"
    r"(?<!beside the )(?<!on the )(?<!à côté du )(?<!près du )(?<!sur le )"
    r"\b(?:lichtmast|lantaarnpaal|lichtpaal|verlichtingspaal|lamp\s*post|light\s*pole|lampadaire"
    r"|poteau\s+d'éclairage)\b(?:\s+[\w'°-]+){0,6}?\s+(?:is|was|werd|staat|has\s+been|is\s+now|est|a\s+été)"
    r"\s+(?:\w+\s+){0,3}?(?:scheef|schuin|gezakt|omver|aangereden|geknakt|geplooid|leaning|bent|knocked|tilted"
    r"|penche|penché|renversé|tordu|plié|heurté|percuté|embouti)"
    # a Dutch subordinate clause puts the verb last: "meldt dat de lantaarnpaal ... scheef staat"
    # (twenty-seventh round, read in issue14r)
    r"|(?<!naast de )(?<!tegen de )(?<!bij de )(?<!aan de )(?<!op de )"
    r"\b(?:lichtmast|lantaarnpaal|lichtpaal|verlichtingspaal)\b(?:\s+[\w'-]+){0,6}?"
    r"\s+(?:scheef|schuin|omver)\s+(?:staat|hangt|is\s+gezakt|gezakt\s+is)\b"
)
# "Het deurtje onderaan de paal hangt open, je ziet de kabels; de lamp zelf brandt nog" (twenty-sixth
# round): the lamp works, but its pole's open hatch or bare wiring is the lighting's own fault.
_POLE_OPEN = re.compile(
    r"\b(?:kabels?|bedrading|draden|stroomdraden|cables?|wires|wiring|câbles?|fils\s+électriques"
    r"|deurtje|luikje|klepje|hatch|trappe|portillon"
    # "la porte de la boîte électrique au pied est arrachée et les fils sont visibles" (thirtieth round)
    r"|boîtier|boîte\s+électrique|fils\s+(?:dénudés|nus|visibles|sont\s+visibles))\b"
)
# "The containers are fine, they just weren't emptied" (thirtieth round): the containers are fine, their
# emptying is the waste company's work all the same.
_NOT_EMPTIED = re.compile(
    r"\b(?:niet|not|never|pas|jamais)\s+(?:\w+\s+){0,2}?(?:geledigd|leeggemaakt|opgehaald|emptied|collected"
    r"|vidés?|vidées?|ramassés?|ramassées?)\b|\b(?:weren't|wasn't|haven't\s+been|hasn't\s+been)\s+emptied\b"
)
_MAY_BE_FINE = re.compile(
    r"orde|\bok|oké|intact|heel|kapot|beschadigd|stuk|leesbaar|brandt|branden|werkt|werken|fine|damaged"
    r"|work|be read|fonctionne|marche|abîm|cassé|endommag|lisible|staat|recht|verstopt|door\b|blocked"
    r"|clogged|standing|upright|debout|bouch|état|condition|shape|order|ordre|\bvol\b|full|plein|blijven|stay"
    r"|rester|loopt"
)


def fine_objects(text: str) -> set[str]:
    """The diensten whose object the text says is fine ("de lamp zelf brandt wel": verlichting)."""
    text = text.lower()
    if _MAY_BE_FINE.search(text) is None:
        return set()
    return {
        match.lastgroup
        for match in _FINE_OBJECT.finditer(text)
        if match.lastgroup
        and not _NOT_ONE.search(text, max(0, match.start() - 16), match.start())
        and not _FAULT_AFTER.search(text, match.end(), match.end() + _FAULT_REACH)
        and not (
            match.lastgroup == "verlichting"
            and (_pole_damaged_before(text, match.start()) or _POLE_OPEN.search(text) is not None)
        )
        and not (match.lastgroup == "afvalophaling" and _NOT_EMPTIED.search(text) is not None)
    }


def _pole_damaged_before(text: str, end: int) -> bool:
    """The lamp's own pole said damaged before `end` in its sentence or the one before (lowercased):
    whole sentences, a clause after ";" included ("... scheef staat; de kap hangt los. De lamp brandt
    nog", twenty-seventh round)."""
    stops = [m.end() for m in _SENTENCE_END.finditer(text, 0, end)]
    start = stops[-2] if len(stops) >= 2 else 0
    return _POLE_DAMAGED.search(text, start, end) is not None


# ---- where to find the collection calendar (seventeenth round): "où puis-je trouver le calendrier",
# "waar haal ik een afvalkalender". The calendar also names the waste company's complaint ("the
# calendar said today"), but asked where it is, the question is the desk's: all 8 corpus and dev texts
# with it are labelled info (7 in info.jsonl, 1 in dev16).
# "Waar kan/haal/vind ik", "where can/do I", "où puis-je/trouver": asked where it is to be had; "waar
# is/where is/où est" only with the calendar right after ("where is the waste calendar"), not "where is
# the bin lorry, the calendar said today" nor "waar blijft de ophaling, volgens de kalender ..."
# (a missed collection).
_CALENDAR_WORD = r"\b(?:\w*kalender|calendar|calendrier)\b"
_CALENDAR_ASKED = re.compile(
    r"\b(?:waar\s+(?:kan|kun|haal|vind|krijg|te)|where\s+(?:can|could|do|does|to)"
    rf"|où\s+(?:puis|peut|peux|trouver|obtenir|avoir))\b[^.?!\n]{{0,60}}{_CALENDAR_WORD}"
    r"|\b(?:waar\s+(?:is|staat|zit|vind\s+ik)|where\s+(?:is|are)|où\s+(?:est|se\s+trouve))"
    rf"(?:\s+\S+){{0,3}}?\s+{_CALENDAR_WORD}"
)


# ---- what something costs (twenty-sixth round): "wa kost nen grofvuilophaling?", "combien coûte un badge
# pour le parc à conteneurs ?", "how much does a bulky waste pick-up cost?". The price names the service, but
# asked, the question is the desk's: all 50 corpus, dev and read-probe texts with it are labelled info.
_PRICE_ASKED = re.compile(
    r"\b(?:wa+t?\s+kost|hoeveel\s+kost|hoeveel\s+betaal|wat\s+betaal|kostprijs"
    r"|combien\s+(?:coûte|coute|ça\s+coûte|ça\s+coute|faut-il\s+payer|dois-je\s+payer)"
    r"|how\s+much\s+(?:does|is|do|will|would)|what\s+does\s+it\s+cost|what\s+is\s+the\s+(?:price|fee|cost)"
    r"|quel\s+(?:en\s+)?est\s+le\s+(?:prix|tarif|coût|cout))\b"
)


def _sentence_of(text: str, match: re.Match[str]) -> str:
    """The sentence of `text` that holds `match`, its end mark included."""
    start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, match.start())), default=0)
    end = _SENTENCE_END.search(text, match.end())
    return text[start : end.end() if end else len(text)]


# ---- when or how often a service passes (thirty-third round, read in issue14bv): "is there a mowing
# schedule for the verges?", "hoe vaak worden de kolken gereinigd?", "à quelle heure s'allument les
# lampadaires ?", "when will the street trees be pruned this year?". The service is named, but the question
# is the desk's: 43 of the 47 corpus, dev and read-probe texts with it are info, and the other four ask
# when someone comes at last ("quand passera le camion ?", "quand passez-vous ?") or ask it first and
# then something else ("demande d'abord à quelle heure ... (répondu)"), which the two conditions below
# leave out.
_SCHEDULE_ASKED = re.compile(
    r"\b(?:is\s+there\s+a\s+(?:\w+\s+){0,2}?(?:schedule|timetable|rota)"
    r"|hoe\s+vaak\s+(?:worden|wordt|komt|komen|passeert|gebeurt)"
    r"|how\s+often\s+(?:are|is|do|does)(?!\s+(?:i|we)\s+(?:have|need)\s+to)"
    r"|à\s+quelle\s+(?:heure|fréquence)|tous\s+les\s+combien|quand\s+(?:est-ce\s+que|passe|passent)"
    r"|when\s+(?:will|are|is|do|does)\s+(?:the\s+)?(?:\w+\s+){0,6}?(?:be\s+)?(?:pruned|mown|mowed|swept|emptied"
    r"|cleaned|collected|trimmed|switched))\b"
)


def asks_the_schedule(text: str) -> bool:
    """The text asks when or how often a service passes ("hoe vaak worden de kolken gereinigd?"), in
    a sentence that does not say the question was asked first or answered."""
    text = text.lower()
    return any(not _ANSWERED.search(_sentence_of(text, asked)) for asked in _SCHEDULE_ASKED.finditer(text))


def asks_the_price(text: str) -> bool:
    """The text asks what something costs ("hoeveel kost een extra gft-container?")."""
    return _PRICE_ASKED.search(text.lower()) is not None


def asks_for_the_calendar(text: str) -> bool:
    """The text asks where to find the collection calendar ("waar kan ik de afvalkalender afhalen?")."""
    return _CALENDAR_ASKED.search(text.lower()) is not None


# Both need one of these words: the common text, which has none, costs one scan.
_MAY_QUESTION = re.compile(
    r"mag|mogen|moag|meug|toegelaten|toegestaan|normaal|allowed|legal|normal|permis|autoris|stop|may i"
    r"|peut-on|droit"
)


# "Ik heb da formulier ingevuld en nog niks gehoord, is da normaal?" (thirtieth round): the question is
# about the writer's own wait for an answer, which the desk answers, not a complaint about what he sees;
# nor is it one where the text says so ("Geen melding, hij wil enkel de regel weten", read in issue14ba).
_NO_COMPLAINT_MEANT = re.compile(
    r"\b(?:niets|niks|nog\s+geen|geen)\s+(?:\w+\s+)?(?:gehoord|antwoord|reactie|nieuws)\b"
    r"|\b(?:not|never|haven't|hasn't)\s+(?:\w+\s+)?heard\b|\bno\s+(?:answer|reply|response)\b"
    r"|\b(?:pas|sans|aucune?)\s+(?:eu\s+(?:de\s+)?)?(?:réponse|nouvelles)\b"
    r"|\bgeen\s+(?:melding|klacht)\b|\b(?:not|no)\s+(?:a\s+)?complaint\b|\bpas\s+une\s+plainte\b"
    r"|\bwil\s+(?:enkel|alleen|gewoon|maar)\s+(?:\w+\s+){0,3}?weten\b|\bjust\s+(?:want|wants|wanted)\s+to\s+know\b"
    r"|\bveu(?:t|x)\s+(?:juste|seulement|simplement)\s+savoir\b"
    # Thirty-first round (read in issue14bi): the writer's or caller's own plan, then "mag dat?", "is this
    # allowed?", "est-ce permis ?" ("ze wil een geveltuintje aanleggen en wil weten of dat mag", "we want to
    # put two planters on the pavement", "nous allons rénover"): a question about what he may do himself.
    r"|\b(?:ik|we|wij|hij|ze|zij)\s+(?:\w+\s+){0,2}?(?:wil|wilt|willen|zou\s+graag|zouden\s+graag)\b"
    r"[^.?!\n]{0,100}\b(?:zelf|aanleggen|planten|plaatsen|zetten|hangen|leggen|bouwen|organiseren)\b"
    r"|\b(?:i|we|she|he|they)\s+(?:\w+\s+){0,3}?(?:want|wants|would\s+(?:love|like)|plan|plans|are\s+planning"
    r"|is\s+planning)\s+to\s+(?!know|ask|report|complain)"
    # "We'd like to water it ... Is that allowed?" (thirty-third round, read in issue14bw)
    r"|\b(?:i|we|she|he|they)['’]d\s+(?:love|like)\s+to\s+(?!know|ask|report|complain)"
    r"|\b(?:je|nous|il|elle|ils|elles|voisins|habitants)\s+(?:\w+\s+)?(?:voudrais|voudrions|souhaite|souhaitons"
    r"|aimerais|aimerions|aimeraient|voudraient|souhaitent|allons|comptons|voulons|veulent)\s+(?:\w+\s+){0,2}?"
    r"(?:placer|installer|planter|mettre|poser|organiser|rénover|construire)\b"
    # Thirty-second round (read in issue14bk): how to get the permission ("si oui, comment l'obtenir ?").
    r"|\bcomment\s+(?:l'|la\s+|le\s+)?(?:obtenir|demander)\b|\bhow\s+(?:do|can|should)\s+(?:i|we)\s+apply\b"
    r"|\bhoe\s+(?:vraag|vragen)\s+(?:ik|we|wij)\s+(?:\w+\s+){0,2}?aan\b"
    # Thirty-third round (read in issue14bu): "elle voudrait savoir si elle a le droit d'enlever elle-même
    # ...; elle ne demande aucune intervention".
    r"|\b(?:a|ai|avons|ont)\s+le\s+droit\s+d|\bdemande\s+aucune\s+intervention\b"
)


# ---- a desk note whose caller first asked something else (thirty-fourth round, read in issue14bz, cc and
# ce): "Mevrouw vraagt eerst of de bibliotheek maandag open is (nee). Dan het eigenlijke: ...", "Monsieur
# appelle d'abord pour savoir quand ... Sa vraie demande: ...". The first question is the desk's and often
# answered on the spot; what the call is for comes after the turn.
_FIRST = re.compile(
    r"\b(?:eerst|first|d'abord|begint\s+(?:met|over)|begins?\s+(?:with|by)|starts?\s+(?:with|by)|commence)\b"
)
_TURN = re.compile(
    r"\b(?:dan|daarna|nadien|vervolgens)\b[^.:]{0,30}(?:eigenlijk\w*|echte|reden|melding|waarvoor)"
    r"|eigenlijk\w*\s+(?:belt|vraag|reden|melding|voor)|waarvoor\s+(?:hij|ze|zij|meneer|mevrouw)\s+(?:eigenlijk|belt)"
    r"|(?:sa|la)\s+vraie|vraiment|en\s+fait|real\s+(?:reason|question|report|issue|call)"
    r"|actually\s+(?:calls?|rings?|rang|called|wants|about)|(?:really|actually)\s+(?:calls?|calling|rang|about)"
    r"|the\s+reason\s+(?:for|of)\s+(?:the|her|his)\s+call|reden\s+van\s+(?:haar|zijn|de)\s+oproep"
    r"|raison\s+de\s+son\s+appel|l'objet\s+de\s+son\s+appel|appelle\s+en\s+fait"
    r"|then\s+(?:the|her|his)\s+(?:real|actual|report)"
)

_TURN_COLON = re.compile(r"[^.?!\n:]{0,30}:")


def after_first_question(text: str) -> str | None:
    """What a caller asked after first asking something else, or None without that turn."""
    lowered = text.lower()
    first = _FIRST.search(lowered)
    if first is None:
        return None
    turn = _TURN.search(lowered, first.end())
    if turn is None:
        return None
    start = turn.end()
    colon = _TURN_COLON.match(lowered, start)  # "sa vraie demande : ...", "the real reason for the call: ..."
    tail = text[colon.end() if colon else start :].lstrip(" :,-")
    return tail if len(tail.split()) >= 3 else None


def complains_by_asking(text: str) -> bool:
    """The text's question is a complaint about what the writer sees ("is dat toegelaten?")."""
    text = text.lower()
    return (
        _MAY_QUESTION.search(text) is not None
        and _COMPLAINT_QUESTION.search(text) is not None
        and _NO_COMPLAINT_MEANT.search(text) is None
    )


def asks_permission(text: str) -> bool:
    """The writer asks whether he may do something himself ("mag ik snoeihout in de gft steken?")."""
    text = text.lower()
    return _MAY_QUESTION.search(text) is not None and _OWN_PERMISSION.search(text) is not None


def may_ask(text: str) -> bool:
    """The cheap pre-test: without one of its words none of the checks below can hold."""
    return _MAY_ASK.search(text.lower()) is not None


# A writer who asks to reopen a report the city closed, or says nothing changed since or the problem is
# back, asks for the work again, not how the report stands (twenty-eighth round: "Behandeld?? ... Graag
# opnieuw openen", "Gepland voor week 18 ... Graag nu echt herstellen", "rien n'a changé, je signale donc
# de nouveau").
_REOPEN = re.compile(
    r"opnieuw\s+(?:te\s+)?openen|heropen\w*|\breopen\s+(?:it|this|the|my|our)\b|please\s+reopen|\brouvrir\b"
    r"|rien\s+n'a\s+changé|nothing\s+has\s+changed|niets\s+(?:is\s+)?veranderd|signale\s+(?:donc\s+)?de\s+nouveau"
    r"|\bnu\s+(?:eens\s+)?(?:echt|écht)\s+(?:\w+\s+){0,2}?(?:herstellen|opruimen|oplossen|vervangen|repareren)\b"
    # the problem is back: "vandaag is het opnieuw niet opgehaald", "ze brandt alweer niet"
    r"|\b(?:opnieuw|alweer|weer)\s+niet\b"
    # "il est revenu, plus profond ... Merci de le refaire correctement" (thirtieth round)
    r"|\b(?:il|elle)\s+est\s+revenue?\b|\bde\s+nouveau\s+là\b|\brefaire\b|\b(?:is|it's)\s+back\b"
    r"|\bcame\s+back\b|\bis\s+(?:weer\s+)?teruggekomen\b|\bkwam\s+(?:weer\s+)?terug\b"
    # Thirty-fourth round (read in issue14bz): asked again in other words ("graag opnieuw laten bekijken",
    # "ik vraag opnieuw om", "graag alsnog laten ophalen"), said unsolved, or what was reported still there.
    r"|\bopnieuw\s+(?:te\s+)?laten\s+\w+|\balsnog\b|\bvra\w*\s+(?:\w+\s+)?opnieuw\s+om\b"
    r"|\bniet\s+opgelost\b|\bnot\s+(?:been\s+)?(?:fixed|solved|resolved)\b"
    r"|\b(?:staat|stoat|staan|ligt|liggen|hangt|hangen)\s+(?:er|der|d'r)\s+(?:\w+\s+)?nog\b|\b(?:is|are)\s+still\s+there\b"
    r"|\b(?:est|sont)\s+toujours\s+là\b"
)


def asks_to_reopen(text: str) -> bool:
    """The writer asks again for work the city said was done or planned ("graag opnieuw openen")."""
    return _REOPEN.search(text.lower()) is not None


def earlier_report(text: str, own: str | None = None) -> bool:
    """The text asks how an earlier report stands ("mijn melding van vorige week: al iets gebeurd?").
    `own`: the writer's own words, where the asking must be, when `text` also holds words that are
    not theirs: a reply's subject is the city's status mail's ("Re: Uw melding - Behandeld (...)"),
    and names the report without asking anything of it."""
    text = text.lower()
    asking = text if own is None else own.lower()
    return _EARLIER.search(text) is not None and _HOW_IT_STANDS.search(asking) is not None


def asks_about_a_grant(text: str) -> bool:
    """A question about a premium, subsidy or permit ("bestaat er een premie voor ...?"): the word
    and the question in one sentence ("hij heeft geen vergunning voor die werf" asks nothing)."""
    text = text.lower()
    for grant in _GRANT_ASKED.finditer(text):
        sentence = _sentence_of(text, grant)
        if _QUESTION.search(sentence) and not _ANSWERED.search(sentence):
            return True
    return False


def asked_words(text: str) -> str | None:
    """The words of the text's last request, from its verb to the end of the sentence; None when
    there is no request or it asks for nothing in particular (lowercased)."""
    text = text.lower()
    last = None
    for match in _REQUEST.finditer(text):
        if not _WISH.search(text, max(0, match.start() - 16), match.start()) and not _LEAVE_IT.match(
            text, match.end()
        ):
            last = match  # the last request is the one the text ends on
    if last is None:
        return None
    end = _ASKED_END.search(text, last.end())
    asked = text[last.end() : end.start() if end else len(text)].strip(" ,:;")
    if len(asked) < _MIN_ASKED_CHARS or _ASKS_TO_BE_TOLD.match(asked):
        return None
    return asked


def asked_work(asked: str, rules: RuleRouter) -> tuple[set[str], set[str]]:
    """Whose work the words of a request name: (the diensten with at least supporting evidence in
    the rules, or emptying's; every dienst with any evidence there). A hint (a place word, "wanneer")
    names no one's work."""
    weights: dict[str, float] = {}
    for dienst, _kind, _term, weight in rules.explain(asked):
        if isinstance(weight, float | int):
            weights[dienst] = weights.get(dienst, 0.0) + weight
    named = {dienst for dienst, weight in weights.items() if weight > 0}
    work = {dienst for dienst, weight in weights.items() if weight >= SUPPORTING}
    # Emptying is the bins' and bottle banks' work, but a drain's ("dat putje laten leegmaken") is the
    # sewer service's own (twenty-eighth round)
    if _EMPTYING.search(asked.lower()) and not _DRAIN.search(asked.lower()):
        work |= set(EMPTYING_WORK)
        named |= set(EMPTYING_WORK)
    return work, named
