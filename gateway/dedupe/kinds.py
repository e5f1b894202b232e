"""What kind of problem a melding is about, per dienst: the precision layer of duplicate detection.

Place and time find the candidates; the kind separates "same street, other problem" (a
dumped mattress and graffiti, both Nette Stad, twenty metres apart). Each dienst has
*problem* kinds, grouped in families: kinds of one family are related (a street light that
is out / that flickers), kinds of different families are different problems. *Attribute*
families describe the object: in an exclusive one (waste fraction, animal species, sign type)
two different values are two problems (PMD not collected / GFT not collected), in a
non-exclusive one (dumped objects) they may be one pile described twice.

Patterns run on `gateway.classify.rules.normalize_text` output: lowercase ascii, street
names masked as "straatnaam" (so "Boomgaardstraat" is no tree).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.dedupe.foreign import FOREIGN


@dataclass(frozen=True)
class Kind:
    name: str  # unique over all diensten: "<dienst>.<kind>"
    family: str
    attribute: bool  # an attribute of the object, not the problem itself
    exclusive: bool  # attribute families only: different values are different problems
    implies: str | None  # an attribute that implies a problem kind (a mattress -> dumping)
    regex: re.Pattern[str]


_DAMAGE = (
    r"(?:kapot\w*|stuk|beschadigd\w*|vernield\w*|scheef\w*|omver\w*|los|losgekomen|ontbreekt|ontbreken|weg"
    r"|verdwenen|gebroken|omgereden|omvergereden|aangereden|plat|gebarsten|roest\w*|gevaarlijk|wiebel\w*)"
)


def _damaged(objects: str) -> str:
    """An object named together with what is wrong with it, in one sentence."""
    return (
        rf"\b(?:{objects})\b[^.?]{{0,40}}\b{_DAMAGE}\b"
        rf"|\b(?:kapotte|beschadigde|vernielde|gebroken|scheve|omgereden|omvergereden) (?:{objects})\b"
    )


_LEXICON: dict[str, list[tuple[str, str, str]]] = {
    # dienst: [(kind, family, pattern)]; family "@name" is an attribute family, "@!name" exclusive.
    "nette_stad": [
        (
            "sluikstort",
            "sluikstort",
            r"\b(?:sluikstort\w*|gedumpt|dump\w*|gedropt|gestort|achtergelat\w*|achtergelaten|neergegooid"
            r"|neergezet|hoop (?:afval|rommel|vuil\w*)|afval (?:ligt|gezet|achter\w*|gedumpt)|illegaal \w+"
            r"|depot\w* sauvage\w*|depot\w* clandestin\w*|fly ?tipping|dumped)",
        ),
        ("matras", "@object", r"\bmatras\w*"),
        ("zetel", "@object", r"\b(?:zetel\w*|sofa\w*|canape\w*|salon|bankstel\w*)"),
        ("koelkast", "@object", r"\b(?:koelkast\w*|frigo\w*|ijskast\w*|diepvries\w*|vriezer\w*)"),
        (
            "meubel",
            "@object",
            r"\b(?:\w*meubel\w*|kast|kasten|kleerkast\w*|stoel\w*|tafel\w*|bedbodem\w*|lattenbodem\w*|bed)\b",
        ),
        ("banden", "@object", r"\b(?:autoband\w*|banden)\b"),
        ("bouwafval", "@object", r"\b(?:bouwafval|bouwpuin|puin|gyproc|gipspla\w*|isolatie\w*|roofing)\b"),
        (
            "zakken",
            "@object",
            r"\b(?:vuilniszak\w*|vuilzak\w*|afvalzak\w*|huisvuilzak\w*|zakken|zak|huisvuil\w*)\b",
        ),
        ("elektro", "@object", r"\b(?:tv|televisie\w*|wasmachine\w*|droogkast\w*|microgolf\w*|elektro\w*)\b"),
        ("karton", "@object", r"\b(?:karton\w*|dozen|doos)\b"),
        ("tapijt", "@object", r"\btapijt\w*"),
        ("asbest", "@object", r"\basbest\w*"),
        ("verf", "@object", r"\b(?:verfpot\w*|verf|potten verf)\b"),
        ("groenafval", "@object", r"\b(?:snoeiafval|tuinafval|groenafval|snoeisel)"),
        ("grofvuil", "@object", r"\bgrof ?vuil\w*"),
        (
            "zwerfvuil",
            "zwerfvuil",
            r"\b(?:zwerfvuil|blikjes|peuk\w*|sigarettenpeuk\w*|papiertjes|rondslingerend\w*|rondvliegend\w*"
            r"|(?:afval|vuil|rommel) (?:op straat|overal|verspreid)|verspreid (?:afval|vuil))",
        ),
        (
            "scherven",
            "scherven",
            r"\b(?:glasscherv\w*|scherven|gebroken glas|kapotte flessen|glas (?:\w+ )?op (?:de|het|straat)"
            r"|overal glas)",
        ),
        (
            "vuilbak_vol",
            "vuilbak_vol",
            r"(?:\b(?:\w*vuil(?:nis)?bak\w*|afvalbak\w*|afvalkorf\w*|vuilbakje\w*|vuilnisemmer\w*)\b[^.?]{0,40}"
            r"\b(?:vol|overvol|propvol|boordevol|stampvol|tjokvol|puil\w*|loopt over|lopen over"
            r"|niet geledig\w*|niet leeggemaakt)\b"
            r"|\b(?:volle|overvolle|propvolle|uitpuilende)"
            r" (?:vuil(?:nis)?bak|afvalbak|afvalkorf|vuilbakje)\w*)",
        ),
        # Full glass banks are a problem of their own: dumping beside them is another one.
        (
            "glasbol_vol",
            "glasbol_vol",
            r"\b(?:glasbol\w*|glascontainer\w*|glasbak\w*|bottle banks?|bulles? a verre)\b[^.?]{0,30}"
            r"\b(?:vol|overvol|propvol|zitten vol|full|overflowing|pleines?|deborde\w*)\b",
        ),
        (
            "vuilbak_kapot",
            "vuilbak_kapot",
            r"\b(?:\w*vuil(?:nis)?bak\w*|afvalbak\w*|afvalkorf\w*)\b[^.?]{0,45}"
            r"\b(?:kapot|stuk|beschadigd|weg|verdwenen|omver|losgerukt|vernield)\b",
        ),
        (
            "graffiti",
            "graffiti",
            r"\b(?:graf+it+i\w*|tags?|getagd|beklad\w*|bespoten|beschilderd|spuitverf|gespoten|bekladding)\b",
        ),
        (
            "hondenpoep",
            "hondenpoep",
            r"\b(?:honden(?:poep|stront|drol\w*|uitwerpsel\w*|kak)|uitwerpsel\w*|poep\w*|stront|kak)\b",
        ),
        (
            "weesfiets",
            "weesfiets",
            r"\b(?:weesfiets\w*|fietswrak\w*|(?:achtergelaten|verlaten|verroeste|kapotte) fiets\w*"
            r"|fiets\w* (?:staat|staan|hangt|hangen) (?:daar |er )?(?:al )?(?:\w+ )?(?:weken|maanden|lang))",
        ),
        ("naalden", "naalden", r"\b(?:\w*naald\w*|injectiespuit\w*|spuitjes)"),
    ],
    "afvalophaling": [
        (
            "niet_opgehaald",
            "ophaling",
            r"\b(?:niet (?:\w+ )?(?:opgehaal\w*|meegenom\w*|geledig\w*|leeggemaakt|leeg gemaakt|gepasseerd"
            r"|langsgekomen|langs gekomen|langsgeweest|langs geweest|opgepikt|leeg)"
            r"|vergeten|overgeslagen|laten staan|blijven staan|(?:staat|staan) (?:er )?(?:nog|nog steeds)"
            r"|niemand gepasseerd|geen ophaling)",
        ),
        ("pmd", "@!fractie", r"\b(?:pmd\w*|blauwe zak\w*|plastiekzak\w*)"),
        ("gft", "@!fractie", r"\b(?:gft\w*|groene (?:container|bak|ton)\w*|groenbak\w*|groencontainer\w*)"),
        (
            "rest",
            "@!fractie",
            r"\b(?:restafval\w*|rest afval|grijze (?:container|bak|zak|ton)\w*|huisvuil\w*|restcontainer\w*)",
        ),
        ("papier", "@!fractie", r"\b(?:papier\w*|karton\w*)"),
        ("grofvuil", "@!fractie", r"\bgrof ?vuil\w*"),
        ("textiel", "@!fractie", r"\b(?:textiel\w*|kleding\w*|kleren)"),
        ("glasbol", "glasbol", r"\b(?:glasbol\w*|glascontainer\w*|glasbak\w*|flessenbak\w*)"),
        (
            "container_kapot",
            "container",
            r"\b(?:container|bak|ton|deksel|chip)\w*\b[^.?]{0,30}\b(?:kapot|stuk|gebroken|gebarsten|beschadigd"
            r"|weg|gestolen|verdwenen|kwijt|wiel\w*|scharnier\w*)\b",
        ),
    ],
    "wegen": [
        (
            "put",
            "put",
            r"\b(?:put|putten|putje\w*|gat|gaten|gaatje\w*|kuil\w*|verzakk\w*|verzakt|ingezakt\w*"
            r"|wegdek (?:kapot|beschadigd|stuk)|asfalt (?:kapot|stuk|los|beschadigd|brokkel\w*)"
            r"|pothole\w*|nid\w* de poule|trou\w*)\b",
        ),
        (
            "tegel",
            "tegel",
            r"\b(?:\w*tegel\w*|klinker\w*|kassei\w*|losliggend\w*|los liggend\w*|wiebel\w*|oneffen\w*"
            r"|opgevroren|uitsteken\w*|struikel\w*|boomwortel\w*|(?:voetpad|stoep|trottoir) (?:ligt )?"
            r"(?:opgebroken|omhoog|kapot|beschadigd))",
        ),
        ("scheur", "scheur", r"\b(?:scheur\w*|barst\w*|spleet)"),
        ("boordsteen", "boordsteen", r"\b(?:boordsteen\w*|stoeprand\w*|borduur\w*|trottoirband\w*)"),
        # Street furniture is often named as a place ("naast de bank"): only a damaged one counts.
        ("zitbank", "zitbank", _damaged(r"zitbank\w*|bankje\w*|bank")),
        ("fietsenrek", "fietsenrek", _damaged(r"fiets(?:en)?rek\w*|fietsbeugel\w*|fietsenstalling\w*")),
        ("paaltje", "paaltje", _damaged(r"paaltje\w*|poller\w*|amsterdammertje\w*|paal|palen")),
        ("hek", "hek", _damaged(r"hek|hekken|hekwerk\w*|leuning\w*|reling\w*|afsluiting\w*|nadarhek\w*")),
        ("olie", "olie", r"\b(?:olie\w*|diesel\w*|mazout\w*)"),
        (
            "gladheid",
            "gladheid",
            r"\b(?:ijzel\w*|gladheid|spiegelglad|ijsbaan|ijzig\w*|bevroren|sneeuw\w*|strooi\w*|gestrooid|zout\b)",
        ),
        ("modder", "modder", r"\b(?:modder\w*|slijk\w*|zand op|grind)"),
    ],
    "verlichting": [
        (
            "uit",
            "licht",
            r"\b(?:brand\w*\b[^.?]{0,70}\b(?:niet|nie)|niet (?:meer )?(?:brand\w*|aan|op)"
            r"|(?:is|zijn|blijft|blijven|staat|staan|gaat|gaan) uit|uitgevallen|doe\w* het niet|werk\w* niet"
            r"|kapot\w*|stuk|defect\w*|geen (?:straat)?(?:verlichting|licht)|donker\w*|pikdonker|gedoofd"
            r"|doof|panne|(?:lamp|licht|verlichting)\w* (?:\w+ ){0,2}(?:uit|weg)"
            r"|ne fonctionne (?:plus|pas)|eteint\w*|en panne|not working|is out|does not work|broken)\b",
        ),
        ("flikker", "licht", r"\b(?:flikker\w*|knipper\w*|flakker\w*|aan en uit|hapert|zoemt|zoemen)"),
        (
            "paal",
            "licht",
            r"\b(?:(?:\w*pa(?:al|len)|mast)\b[^.?]{0,30}\b(?:scheef|omver|aangereden|beschadigd|hangt|helt|los"
            r"|gebroken|geraakt|omgereden)|aangereden|omvergereden|omver gereden"
            r"|kabel\w* (?:bloot|hang\w*|los)|luikje|deurtje)",
        ),
        ("overdag", "overdag", r"\b(?:overdag|hele dag|ganse dag|dag en nacht|heel de dag|volle dag)"),
    ],
    "signalisatie": [
        ("bord", "bord", r"\b(?:\w*bord|\w*borden|\w*bordje\w*|wegwijzer\w*|richtingaanwijzer\w*)\b"),
        ("stop", "@!bordtype", r"\bstop(?:bord\w*)?\b"),
        ("voorrang", "@!bordtype", r"\bvoorrang\w*"),
        ("snelheid", "@!bordtype", r"\b(?:zone ?\d0|snelheid\w*|maximum ?snelheid\w*)"),
        (
            "parkeer",
            "@!bordtype",
            r"\b(?:parkeerverbod\w*|parkeerbord\w*|parkeren verboden|parkeerschijf\w*)",
        ),
        ("straatnaambord", "@!bordtype", r"\b(?:straatnaambord\w*|naambord\w*)"),
        ("richting", "@!bordtype", r"\b(?:eenrichting\w*|verboden richting|wegwijzer\w*|richting\w*)"),
        (
            "verkeerslicht",
            "verkeerslicht",
            r"\b(?:verkeerslicht\w*|lichten (?:staan|springen|knipperen|blijven|werken|zijn)|driekleur\w*"
            r"|voetgangerslicht\w*|drukknop\w*|oranje knipper\w*|knipperlicht\w*|staat (?:altijd )?op rood)",
        ),
        (
            "markering",
            "markering",
            r"\b(?:\w*markering\w*|witte (?:lijn|streep|strepen)\w*|strepen|belijning\w*|haaientand\w*"
            r"|fietssuggestie\w*|vervaagd\w*|\w*sleten|verf|\w*schilder\w*|geschilderd"
            r"|niet meer (?:goed )?zichtbaar"
            r"|(?:zebrapad|oversteekplaats)\w* (?:\w+ ){0,3}(?:weg|verdwenen)\b)",
        ),
        # The crossing itself is where, not what: its paint (markering) or the lamp above it.
        ("zebrapad", "@plek", r"\b(?:zebrapad\w*|oversteekplaats\w*|voetgangersoversteek\w*)"),
        ("spiegel", "spiegel", r"\b\w*spiegel\w*"),
        # The lamp above a zebra crossing is routed here with the crossing, but it is a lamp, not
        # the paint: "de lamp aan het zebrapad brandt niet" vs "het zebrapad is weggesleten".
        (
            "lamp",
            "lamp",
            r"\b(?:\w*lamp\w*|\w*verlichting|lantaarn\w*|(?:het|de) licht (?:boven|aan|bij|van|op)"
            r"|\w*verlicht|lampadaire\w*|eclairage|street ?lights?"
            r"|(?:the )?light (?:above|at|over|on|near|is|by))\b",
        ),
    ],
    "riolering": [
        # A blocked gully (maintenance: clean it) and a flood (an event: a storm, a cellar under
        # water) are cause and consequence at one house, two problems for the dienst; a sloot or
        # gracht is a third. Related enough that the desk is asked (NEAR), never linked alone.
        (
            "kolk",
            "kolk",
            r"\b(?:\w*kolk\w*|rooster\w*|afvoer\w*|straatput\w*|rioolput|verstopt\w*|loopt niet (?:weg|af)"
            r"|watert niet af|slokop\w*)",
        ),
        (
            "wateroverlast",
            "overstroming",
            r"\b(?:wateroverlast|overstroom\w*|overstroming\w*|ondergelopen|onder water"
            r"|water (?:blijft|staat|stond|tot|in (?:de|het|mijn|onze))|plas|plassen|waterplas\w*|kelder\w*"
            r"|blank|onderwater|(?:loopt|lopen|liep|liepen) over)\b",
        ),
        ("gracht", "gracht", r"\b(?:\w*gracht\w*|sloot|sloten|duiker\w*|beek\w*)\b"),
        ("geur", "geur", r"\b(?:stank\w*|stinkt|stinken|stinkend\w*|\w*geur\w*|ruik\w*|rot ei\w*)"),
        ("deksel", "deksel", r"\b(?:\w*deksel\w*|klepper\w*|rammel\w*|klapper\w*|klapt)"),
    ],
    "groen": [
        ("tak", "boom", r"\b(?:tak|takken|\w+tak|afgebroken|afgewaaid\w*|afgescheurd)\b"),
        (
            "omgevallen",
            "boom",
            r"\b(?:omgevallen|omgewaaid\w*|ontworteld\w*|(?:boom|bomen) (?:is |zijn |ligt |liggen )?"
            r"(?:om|omver|gevallen)|omver|(?:ligt|liggen) (?:een |de )?(?:boom|bomen)"
            r"|(?:boom|bomen) (?:\w+ ){0,2}over (?:de|het))\b",
        ),
        (
            "boom_ziek",
            "boom",
            r"\b(?:dode? boom|boom\w* (?:\w+ ){0,5}(?:is|staat|wordt) (?:\w+ )?(?:dood|ziek|rot|hol|scheef"
            r"|gevaarlijk)|zieke boom|holle boom|rotte? boom|dreigt (?:om )?te vallen)",
        ),
        (
            "haag",
            "snoei",
            r"\b(?:haag|hagen|heg|hegge\w*|struik\w*|overhang\w*|hangt over|hangen over|steekt uit|steken uit"
            r"|belemmer\w*|snoei\w*|groeit over|woekert)",
        ),
        ("gras", "gras", r"\b(?:gras\w*|maai\w*|gemaaid|berm\w*)"),
        ("onkruid", "onkruid", r"\b(?:onkruid\w*|distel\w*|brandnetel\w*)"),
        ("rups", "rups", r"\b(?:\w*processierups\w*|rups\w*|brandharen)"),
        ("bladeren", "bladeren", r"\b(?:blader\w*|blad|bladval|herfstblad\w*)\b"),
        (
            "plantvak",
            "plantvak",
            r"\b(?:plantvak\w*|bloembak\w*|bloemperk\w*|perk|beplanting|plantsoen\w*)\b",
        ),
    ],
    "overlast": [
        (
            "lawaai",
            "lawaai",
            r"\b(?:lawaai\w*|\w*geluid\w*|muziek\w*|feest\w*|fuif\w*|herrie|roep\w*|schreeuw\w*|tier\w*"
            r"|blaf\w*|luid\w*|bonk\w*|kabaal)",
        ),
        (
            "parkeren",
            "parkeren",
            r"\b(?:geparkeerd|parkeer\w*|parkeren|parkeert|foutparkeer\w*|versper\w*|blokkeer\w*|geblokkeerd"
            r"|oprit|dubbel geparkeerd)",
        ),
        (
            "wrak",
            "wrak",
            r"\b(?:\w*wrak\w*|(?:achtergelaten|verlaten|uitgebrande?) (?:auto|wagen|voertuig|camionette"
            r"|bestelwagen|aanhangwagen|caravan|mobilhome)\w*|zonder nummerplaat|geen nummerplaat"
            r"|(?:staat|staan) (?:daar |er )?al (?:\w+ )?(?:weken|maanden)|platte banden)",
        ),
        (
            "vandalisme",
            "vandalisme",
            r"\b(?:vandal\w*|vernield\w*|vernieling\w*|ingeslagen|ingegooid|kapotgemaakt|kapot gemaakt"
            r"|bekrast)",
        ),
        ("verbranden", "verbranden", r"\b(?:verbrand\w*|stook\w*|stoken|vuurtje\w*|vuur|rook\w*|smeul\w*)\b"),
        (
            "hangjongeren",
            "hangjongeren",
            r"\b(?:hangjongeren|jongeren|bende\w*|drugs?|deal\w*|lachgas\w*|samenscholing\w*)\b",
        ),
    ],
    "dieren": [
        (
            "dood",
            "dood",
            r"\b(?:dood|dode|doden|kadaver\w*|karkas\w*|doodgereden|overreden|aangereden|gestorven|overleden)\b",
        ),
        (
            "plaag",
            "plaag",
            r"\b(?:ratten|muizen|knaagdier\w*|ongedierte|kakkerlak\w*|\w*plaag|\w*overlast|zwerfkat\w*"
            r"|verwilderd\w*)",
        ),
        ("insecten", "insecten", r"\b(?:\w*nest|\w*nesten|wesp\w*|hoornaar\w*|bijen\w*|zwerm)\b"),
        (
            "gewond",
            "gewond",
            r"\b(?:gewond\w*|verwond\w*|kreupel|hulpbehoevend|vleugel\w*|zwerft|loslopend\w*|loopt los"
            r"|verdwaald\w*|verlaten (?:hond|kat|dier)\w*|verzwakt)",
        ),
        ("kat", "@!soort", r"\b(?:kat|katten|poes\w*|kater|zwerfkat\w*)\b"),
        ("hond", "@!soort", r"\bhond(?:je|en)?\b"),
        ("duif", "@!soort", r"\b(?:duif|duiven\w*)"),
        ("vos", "@!soort", r"\b(?:vos|vossen)\b"),
        ("egel", "@!soort", r"\begel\w*"),
        ("rat", "@!soort", r"\b(?:rat|ratten)\b"),
        ("muis", "@!soort", r"\b(?:muis|muizen)\b"),
        ("konijn", "@!soort", r"\bkonijn\w*"),
        ("reiger", "@!soort", r"\breiger\w*"),
        ("eend", "@!soort", r"\beend\w*"),
        ("zwaan", "@!soort", r"\bzwa(?:an|nen)\b"),
        ("meeuw", "@!soort", r"\bmeeuw\w*"),
        ("ree", "@!soort", r"\b(?:ree|reeen|reebok)\b"),
        ("wesp", "@!soort", r"\bwesp\w*"),
        ("hoornaar", "@!soort", r"\bhoornaar\w*"),
        ("bij", "@!soort", r"\bbij(?:en|enzwerm\w*)\b"),
    ],
}


def _build() -> dict[str, tuple[Kind, ...]]:
    built: dict[str, tuple[Kind, ...]] = {}
    for dienst, entries in _LEXICON.items():
        problem_default = next((k for k, f, _ in entries if not f.startswith("@")), None)
        kinds = []
        for name, family, pattern in entries:
            foreign = FOREIGN.get(f"{dienst}.{name}")
            if foreign:
                pattern = rf"(?:{pattern})|\b(?:{foreign})\b"
            attribute = family.startswith("@")
            exclusive = family.startswith("@!")
            # A dumped object implies dumping; other attributes imply nothing on their own.
            implies = f"{dienst}.sluikstort" if dienst == "nette_stad" and family == "@object" else None
            kinds.append(
                Kind(
                    name=f"{dienst}.{name}",
                    family=f"{dienst}.{family.lstrip('@!')}",
                    attribute=attribute,
                    exclusive=exclusive,
                    implies=implies,
                    regex=re.compile(pattern),
                )
            )
        assert problem_default is not None
        built[dienst] = tuple(kinds)
    return built


KINDS: dict[str, tuple[Kind, ...]] = _build()
BY_NAME: dict[str, Kind] = {k.name: k for kinds in KINDS.values() for k in kinds}


# "naast de bank", "aan de verkeerslichten", "boven het zebrapad", "near the bridge", "pres du
# pont": an object named after a preposition and an article is where the problem is, not what
# it is ("de vuilbak naast de bank is kapot" is about a bin). The desk's "belt voor een
# wespennest" is what the call is about, not in front of what.
_PLACE_PHRASE = (
    r"\b(?:aan|bij|naast|boven|onder|(?<!belt )(?<!belde )(?<!bellen )voor|achter|tegenover|rechtover"
    r"|nabij|langs|rond|tussen|at|near|by"
    r"|above|beside|next to|in front of|behind|opposite|around|pres|devant|a cote|au dessus|en face"
    # "het deksel van de rioolput": the part is the problem, the object it belongs to says where.
    r"|(?:deksels?|roosters?|klep|kap|lid|covers?|couvercles?|plaques?|grilles?) (?:van|of|du|de la|des|de))"
    r" (?:(?:de|du|des|d|het|den|der|die|dat|the|a|an|la|le|les|l|een|un|une) ){1,2}"
)
_PLACE_ANYWHERE = re.compile(_PLACE_PHRASE)  # one search per text: most name no place at all
_PLACE_BEFORE = re.compile(_PLACE_PHRASE + "$")
# An object named with no problem word: what is usually wrong with it.
_DEFAULT_PROBLEM = {"signalisatie.zebrapad": "signalisatie.markering"}
# Words that are only the symptom of a cause the same text names: "kolk verstopt, het water
# blijft staan" is the blocked gully, not a flood (a cellar under water is one). Kind ->
# (its cause's kind, the symptom words); the kind is kept when any other word of it occurs.
_SYMPTOM_OF: dict[str, tuple[str, re.Pattern[str]]] = {
    "riolering.wateroverlast": (
        "riolering.kolk",
        re.compile(
            r"\b(?:water (?:blijft|staat|stond)|plas|plassen|waterplas\w*|eau stagnante"
            r"|water on the road)\b"
        ),
    ),
}
# Families that are different problems, but close enough that one report may describe both: a
# pair of them is never linked automatically, only suggested to the desk.
NEAR: tuple[frozenset[str], ...] = (
    frozenset({"riolering.kolk", "riolering.overstroming", "riolering.gracht"}),
    frozenset({"signalisatie.markering", "signalisatie.lamp"}),
)


def _placed(kind: Kind, normalized: str, first: re.Match[str] | None = None) -> bool | None:
    """None: not found; True: every mention is a place ("naast de bank"); False: it is named."""
    m = first or kind.regex.search(normalized)
    found = None
    while m is not None:
        if not _PLACE_BEFORE.search(normalized, max(0, m.start() - 40), m.start()):
            return False
        found = True
        m = kind.regex.search(normalized, m.end())
    return found


def detect(dienst: str | None, normalized: str) -> frozenset[str]:
    """The kinds of a dienst found in normalized text (see module doc).

    A problem kind named only as a place ("de lamp aan het zebrapad", "de vuilbak naast de
    bank is kapot") is left out when the text names another problem, of this dienst or of
    another one; in the latter case that problem's kinds are kept (a wegen report about a bin
    then differs from one about a bench)."""
    found: set[str] = set()
    placed: set[str] = set()
    places = _PLACE_ANYWHERE.search(normalized) is not None
    for kind in KINDS.get(dienst or "", ()):
        m = kind.regex.search(normalized)
        if m is None:
            continue
        if places and not kind.attribute and _placed(kind, normalized, m):
            placed.add(kind.name)
            continue
        found.add(kind.name)
        if kind.implies:
            found.add(kind.implies)
    for kind, (cause, symptom) in _SYMPTOM_OF.items():
        if kind in found and cause in found and _only_symptom(BY_NAME[kind], symptom, normalized):
            found.discard(kind)
    if not any(not BY_NAME[k].attribute for k in found):
        for attribute, problem in _DEFAULT_PROBLEM.items():
            if attribute in found:
                found.add(problem)  # "het zebrapad op het Volksplein": its paint, unless a lamp is named
    if placed and not any(not BY_NAME[k].attribute for k in found):
        elsewhere = _named_elsewhere(dienst, normalized)
        # Nothing else named: the object is the problem after all ("lamp aan de kerk kapot").
        found |= elsewhere or placed
    return frozenset(found)


def _only_symptom(kind: Kind, symptom: re.Pattern[str], normalized: str) -> bool:
    """Every mention of `kind` in the text is one of its symptom words (see _SYMPTOM_OF)."""
    return all(symptom.match(normalized, m.start()) for m in kind.regex.finditer(normalized))


def _named_elsewhere(dienst: str | None, normalized: str) -> frozenset[str]:
    """Problem kinds of other diensten named (not as a place) in the text, for `detect`."""
    found = set()
    for other, entries in KINDS.items():
        if other == dienst or (other in _ANCHORS and not _ANCHORS[other].search(normalized)):
            continue
        for kind in entries:
            if not kind.attribute and _placed(kind, normalized) is False:
                found.add(kind.name)
    return frozenset(found)


# Kinds with generic words ("kapot", "werkt niet") say which dienst only next to its object.
_ANCHORS = {
    "dieren": re.compile(
        r"\b(?:\w*dier\w*|\w*kat|katten|poes\w*|hond\w*|duif|duiven|\w*vogel\w*|vos|vossen|egel\w*|rat|ratten"
        r"|muis|muizen|konijn\w*|reiger\w*|eend\w*|zwa(?:an|nen)|meeuw\w*|ree|vis|vissen|kadaver\w*|karkas\w*"
        r"|wesp\w*|hoornaar\w*|bij|bijen\w*|nest\w*|ongedierte|animal\w*|cats?|chats?|dogs?|chiens?|pigeons?"
        r"|rats|rodents?|rongeurs?|wasps?|guepes?|foxes|renards?)\b"
    ),
    "verlichting": re.compile(
        r"\b(?:\w*lamp\w*|\w*licht\w*|\w*verlichting\w*|lantaarn\w*|\w*paal|\w*palen|armatuur\w*|luchter\w*"
        r"|lampadaire\w*|eclairage|light\w*|luminaire\w*)\b"
    ),
}


# Kinds that point to their dienst only together with another kind of it (routing hints).
_HINT_ONLY_WITH = {"signalisatie.lamp": "signalisatie.zebrapad"}


def problem_diensten(normalized: str) -> list[tuple[str, int]]:
    """Diensten whose problem kinds occur in the text, with how many kinds, most first: a hint
    where routing is undecided."""
    counted = []
    for dienst in KINDS:
        anchor = _ANCHORS.get(dienst)
        if anchor is not None and not anchor.search(normalized):
            continue
        hits = {k for k in detect(dienst, normalized) if k.startswith(dienst + ".")}
        for kind, unless in _HINT_ONLY_WITH.items():
            if kind in hits and unless not in hits:
                hits.discard(kind)  # a lamp is verlichting's, unless it is the one at a crossing
        if any(not BY_NAME[k].attribute for k in hits):
            counted.append((len(hits), dienst))
    counted.sort(key=lambda c: -c[0])
    return [(d, n) for n, d in counted]


def agreement(a: Iterable[str], b: Iterable[str]) -> float | None:
    """How well two kind sets agree: 1 same problem, 0 different problems, None unknown.

    0.0 when both name problems of different families, or an exclusive attribute differs
    (a dead cat / a dead pigeon); 1.0 when they share a problem kind and no attribute
    contradicts; 0.75 for a shared family or attribute only.
    """
    ka = [BY_NAME[n] for n in a if n in BY_NAME]
    kb = [BY_NAME[n] for n in b if n in BY_NAME]
    if not ka or not kb:
        return None
    pa = {k.family for k in ka if not k.attribute}
    pb = {k.family for k in kb if not k.attribute}
    if pa and pb and not pa & pb:
        return 0.0
    shared_attribute = other_objects = False
    for family in {k.family for k in ka if k.attribute} & {k.family for k in kb if k.attribute}:
        va = {k.name for k in ka if k.family == family}
        vb = {k.name for k in kb if k.family == family}
        if va & vb:
            shared_attribute = True
        elif BY_NAME[next(iter(va))].exclusive:
            return 0.0
        else:
            other_objects = True  # a mattress here, a fridge there: maybe one pile, maybe two
    if pa and pb:
        names_a = {k.name for k in ka if not k.attribute}
        names_b = {k.name for k in kb if not k.attribute}
        same = bool(names_a & names_b) and (shared_attribute or not other_objects)
        return 1.0 if same else 0.75
    return 0.75 if shared_attribute else None


def near(a: Iterable[str], b: Iterable[str]) -> str | None:
    """ "kolk vs overstroming" when two kind sets name different problems of one NEAR group
    (a blocked gully / a flood at one house): the desk decides, nothing is linked."""
    pa = {BY_NAME[n].family for n in a if n in BY_NAME and not BY_NAME[n].attribute}
    pb = {BY_NAME[n].family for n in b if n in BY_NAME and not BY_NAME[n].attribute}
    if not pa or not pb or pa & pb:
        return None
    for group in NEAR:
        if pa <= group and pb <= group:
            return f"{_short(pa)} vs {_short(pb)}"
    return None


def _short(families: set[str]) -> str:
    return "/".join(sorted(f.split(".", 1)[1] for f in families))
