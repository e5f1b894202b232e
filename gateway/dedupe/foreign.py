"""French and English words for the problem kinds of gateway.dedupe.kinds (keys: kind names)."""

from __future__ import annotations

# French and English words for the same kinds: citizens write to 1777 in all three languages, and a
# French report of a lamp must meet the Dutch one as "the same problem", not as "kind unknown".
# Matched on normalize_text output (ascii, lowercase, apostrophes as spaces).
FOREIGN: dict[str, str] = {
    "nette_stad.sluikstort": r"dumping|rubbish dumped|abandonn\w*|deposes?|jetes?|fly ?tipp\w*",
    "nette_stad.matras": r"matelas|mattress\w*",
    "nette_stad.zetel": r"couch\w*|fauteuil\w*",
    "nette_stad.koelkast": r"fridge\w*|refrigerateur\w*",
    "nette_stad.meubel": r"meubles?|furniture|armoire\w*|chaises?|chairs?",
    "nette_stad.zakken": r"sacs?(?: poubelle)?|bin bags?|rubbish bags?|bags",
    "nette_stad.karton": r"cartons?|cardboard|boxes|boites?",
    "nette_stad.zwerfvuil": r"litter\w*|rubbish everywhere|dechets? (?:partout|par terre)|detritus",
    "nette_stad.vuilbak_vol": r"(?:bins?|litter bins?|trash cans?|poubelles?)\b[^.?]{0,30}"
    r"\b(?:full|overflowing|pleines?|deborde\w*)|overflowing (?:litter )?(?:bins?|trash)",
    "nette_stad.graffiti": r"sprayed|spray|tague?e?s?|taggu?e?s?",
    "nette_stad.scherven": r"broken glass|glass (?:shards|everywhere|on the)"
    r"|(?:verres?|bouteilles?) (?:brise\w*|casse\w*)|tessons?|debris de verre",
    "nette_stad.weesfiets": r"abandoned (?:bikes?|bicycles?)|bike wrecks?|velos? (?:abandonne\w*|epave\w*)"
    r"|epaves? de velos?",
    "nette_stad.hondenpoep": r"dog (?:poo|poop|mess|dirt)|crottes? de chiens?|dejections? canines?",
    "afvalophaling.niet_opgehaald": r"not (?:been )?(?:collected|picked up|emptied)|missed collection"
    r"|pas (?:ete )?(?:ramasse\w*|collecte\w*|vide\w*)",
    "afvalophaling.pmd": r"sacs? bleus?|blue bags?",
    "afvalophaling.gft": r"conteneurs? verts?|green bins?",
    "afvalophaling.rest": r"residual waste|grey bins?|ordures menageres",
    "afvalophaling.glasbol": r"bulles? a verre|bottle banks?|bottle bins?|conteneurs? a verre",
    "wegen.zitbank": r"(?:benche?s?|bancs?)\b[^.?]{0,30}\b(?:broken|damaged|vandali[sz]ed|casse\w*|abime\w*)"
    r"|broken bench\w*",
    "wegen.put": r"holes? in the (?:road|street|cycle path|bike lane)|potholes?|full of holes"
    r"|subsid\w*|(?:a|dangerous|deep) dip",
    "wegen.tegel": r"loose (?:tiles?|paving|slabs?|cobbles?|setts?)"
    r"|paves? (?:descelle\w*|casse\w*|dechausse\w*)|dalles?|uneven|bumpy|tree roots?|racines?"
    r"|trottoirs? (?:\w+ )?(?:casse\w*|abime\w*|defonce\w*|souleve\w*|endommage\w*)|trebuch\w*"
    r"|(?:broken|cracked|damaged|sunken) (?:pavement|paving|footpath|sidewalk)"
    r"|tiles? (?:sloping|lifted|cracked)",
    # A railing named with its damage, as the Dutch "leuning ... los" (a railing is also a place).
    "wegen.hek": r"(?:railings?|handrails?|guard ?rails?|rambardes?|garde corps|balustrades?)\b[^.?]{0,40}"
    r"\b(?:bent|broken|loose|damaged|hanging|missing|tordue?s?|cassee?s?|abimee?s?|ne tient plus|arrachee?s?)"
    r"|(?:bent|broken|loose|damaged) (?:hand)?railings?",
    "wegen.olie": r"oil|huile|gasoil",
    "wegen.gladheid": r"ice|icy|verglas|slippery|glissant\w*|neige|snow",
    "verlichting.uit": r"ne s allume (?:toujours |encore )?(?:plus|pas)"
    r"|ne marche (?:toujours |encore )?(?:plus|pas)|hors service|(?:is|are|been) out"
    r"|not (?:working|on|lit)|doesn t work|dark|eteint\w*|(?:lights?|lamps?) (?:(?:has|have) gone )?out"
    r"|street ?lights? (?:\w+ )?out|en panne|(?:is|are|stays?|remains?) (?:still )?off|still off",
    "verlichting.flikker": r"clignot\w*|flicker\w*|blink\w*|on and off",
    "verlichting.paal": r"(?:lamp ?posts?|poteaux?|lampadaires?|luminaires?)\b[^.?]{0,30}"
    r"\b(?:tilted|leaning|knocked|hit|damaged|broken|penche\w*|renverse\w*|tordu\w*|casse\w*|endommage\w*)",
    "signalisatie.verkeerslicht": r"feux? (?:de )?(?:signalisation|circulation|rouges?|tricolores?)"
    r"|traffic ?lights?|traffic signals?|pedestrian lights?|feux? (?:pour )?pietons?",
    "signalisatie.bord": r"panneaux?|road signs?|signposts?|traffic signs?",
    "signalisatie.markering": r"marquages?|road markings?|lines?|stripes?|faded|worn (?:away|off|out)"
    r"|efface\w*|peinture|repaint\w*|repeindre",
    "signalisatie.spiegel": r"(?:traffic )?mirrors?|miroirs?",
    "signalisatie.zebrapad": r"passages? pietons?|zebra crossings?|pedestrian crossings?",
    "riolering.kolk": r"avaloirs?|blocked drains?|drains?|gully|gullies|egouts? bouche\w*",
    "riolering.wateroverlast": r"inond\w*|flood\w*|water on the road|eau stagnante|eau dans|water in the"
    r"|cellar|basement|caves?",
    "riolering.geur": r"odeurs?|smell\w*|stink\w*|pue",
    "riolering.deksel": r"couvercles?|plaques? d egout|manhole\w*|drain covers?|rattl\w*|claque\w*",
    "groen.tak": r"branch(?:es)?|branches?|limbs?",
    "groen.omgevallen": r"fallen trees?|trees? (?:has |have )?(?:fallen|down|blown over)|uprooted"
    r"|arbres? (?:tombe\w*|deracine\w*)",
    "groen.boom_ziek": r"dead trees?|arbres? morts?|diseased trees?",
    "groen.haag": r"hedges?|haies?|overgrown|overhanging",
    "groen.gras": r"grass|mow\w*|herbes? hautes?|herbes? (?:pas|non) (?:tondue?s?|coupee?s?)|tonte",
    "groen.onkruid": r"weeds?|mauvaises? herbes?",
    "groen.bladeren": r"leaves|feuilles? mortes?",
    "overlast.lawaai": r"noise|noisy|loud music|bruit\w*|tapage",
    "overlast.parkeren": r"parked|stationne\w*|garee?s? sur",
    "overlast.wrak": r"abandoned (?:car|vehicle|van)s?|epaves?|voitures? abandonnee?s?",
    "dieren.dood": r"dead|carcass\w*|cadavres?|roadkill|mort(?:e|s|es)?",
    "dieren.plaag": r"rats|mice|rodents|infestation|souris|rongeurs?",
    "dieren.insecten": r"wasps?|hornets?|guepes?|frelons?",
    "dieren.kat": r"cats?|chats?",
    "dieren.hond": r"dogs?|chiens?",
    "dieren.duif": r"pigeons?",
    "dieren.rat": r"rats?",
    "dieren.vos": r"fox(?:es)?|renards?",
    "dieren.egel": r"hedgehogs?|herissons?",
}
