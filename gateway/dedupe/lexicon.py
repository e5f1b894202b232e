"""The words of each dienst's problem kinds (gateway.dedupe.kinds builds and applies them).

Per dienst a list of (kind, family, pattern): a family starting with "@" is an attribute of
the object (a mattress, PMD), "@!" an exclusive one (two values are two problems); other
families are problems, and kinds of one family are related. Patterns run on
`gateway.classify.rules.normalize_text` output; French and English words are added from
gateway.dedupe.foreign.
"""

from __future__ import annotations

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


LEXICON: dict[str, list[tuple[str, str, str]]] = {
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
            r" (?:vuil(?:nis)?bak|afvalbak|afvalkorf|vuilbakje)\w*"
            # "de zakjes puilen uit de vuilbak": the bin named after what bulges out of it.
            r"|\bpuil\w* (?:\w+ ){0,2}uit\b[^.?]{0,30}\b(?:\w*vuil(?:nis)?bak\w*|afvalbak\w*|afvalkorf\w*))",
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
            r"\b(?:(?:niet|nie) (?:\w+ )?(?:opgehaal\w*|meegenom\w*|geledig\w*|leeggemaakt|leeg gemaakt"
            r"|gepasseerd"
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
            r"\b(?:put|putten|putte|putje\w*|gat|gaten|gaatje\w*|kuil\w*|verzakk\w*|verzakt|ingezakt\w*"
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
            # "straatlamp voor zijn deur al enkele dagen uit": "uit" closing the clause, not "uit de ...".
            r"|\w*(?:lamp|licht|verlichting)\w* (?:\w+ ){0,6}uit(?! (?:de|het|een|den|der|mijn|zijn|haar|hun"
            r"|onze|ons|te|van|naar)\b)"
            r"|ne fonctionne (?:toujours |encore )?(?:plus|pas)|eteint\w*|en panne|not working|is out"
            r"|does not work|broken)\b",
        ),
        ("flikker", "licht", r"\b(?:flikker\w*|knipper\w*|flakker\w*|aan en uit|hapert|zoemt|zoemen)"),
        # The post itself (leaning, hit, an open hatch) is another problem than its light: a lamp
        # out and the post beside it knocked askew are two jobs, though one crash may cause both.
        (
            "paal",
            "paal",
            r"\b(?:(?:\w*pa(?:al|len)|mast)\b[^.?]{0,60}\b(?:scheef|omver|aangereden|beschadigd|hangt|helt|los"
            r"|gebroken|geraakt|omgereden)|aangereden|omvergereden|omver gereden|(?:er)?tegen(?:aan)? gereden"
            r"|aanrijding|kabel\w* (?:bloot|hang\w*|los)|luikje|deurtje)",
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
        ("tak", "boom", r"\b(?:tak|takken|takke|\w+tak|afgebroken|afgewaaid\w*|afgescheurd)\b"),
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
