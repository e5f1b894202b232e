"""Reply and signature stripping on the forms Flemish, French and English mail clients write."""

from __future__ import annotations

import pytest

from gateway.channels.email.quotes import find_phone, split_forward, split_signature, strip_reply

REPORT = "Er ligt al een week een hoop afval naast de glasbol in de Budastraat."


@pytest.mark.parametrize(
    "quote",
    [
        # Gmail in Dutch
        "Op di 2 apr. 2024 om 10:15 schreef Meldpunt 1777 <1777@kortrijk.be>:\n\n> Beste,\n> Uw melding.",
        # ... wrapped over two lines by the client
        "Op di 2 apr. 2024 om 10:15 schreef Meldpunt 1777 <\n1777@kortrijk.be>:\n\n> Beste,\n> Uw melding.",
        # Apple Mail in Dutch
        "Op 2 apr. 2024 om 10:15 heeft Meldpunt 1777 <1777@kortrijk.be> het volgende geschreven:\n\n> Beste,",
        # Thunderbird in Dutch
        "Meldpunt 1777 schreef op 2/04/2024 om 10:15:\n> Beste,\n> Uw melding.",
        # Outlook in Dutch: a header block, no quote marks
        "Van: Meldpunt 1777 <1777@kortrijk.be>\nVerzonden: dinsdag 2 april 2024 10:15\n"
        "Aan: Jan Peeters <jan.peeters@telenet.be>\nOnderwerp: Uw melding 1777-2024-000123\n\n"
        "Beste,\n\nUw melding.",
        # Outlook on the web: a rule, then the block
        "________________________________\nVan: Meldpunt 1777 <1777@kortrijk.be>\n"
        "Verzonden: dinsdag 2 april 2024 10:15\nAan: Jan Peeters\nOnderwerp: Uw melding\n\nBeste,",
        "-----Oorspronkelijk bericht-----\nVan: Meldpunt 1777 [mailto:1777@kortrijk.be]\n"
        "Verzonden: dinsdag 2 april 2024 10:15\nAan: Jan Peeters\nOnderwerp: Uw melding\n\nBeste,",
        # English
        "On Tue, Apr 2, 2024 at 10:15 AM Meldpunt 1777 <1777@kortrijk.be> wrote:\n\n> Dear,\n> Your report.",
        "From: Meldpunt 1777 <1777@kortrijk.be>\nSent: Tuesday, April 2, 2024 10:15 AM\nTo: Jan\n"
        "Subject: Your report\n\nDear,",
        "-----Original Message-----\nFrom: Meldpunt 1777\nSent: Tuesday, April 2, 2024 10:15 AM\nTo: Jan\n"
        "Subject: Your report",
        # French
        "Le mar. 2 avr. 2024 à 10:15, Meldpunt 1777 <1777@kortrijk.be> a écrit :\n\n"
        "> Madame,\n> Votre signalement.",
        "De : Meldpunt 1777 <1777@kortrijk.be>\nEnvoyé : mardi 2 avril 2024 10:15\nÀ : Jean Dupont\n"
        "Objet : Votre signalement\n\nMadame,",
        "-------- Message d'origine --------\nDe : Meldpunt 1777\nDate : 02/04/2024 10:15\n"
        "Objet : Votre signalement",
    ],
)
def test_quoted_previous_message_is_cut(quote: str) -> None:
    assert strip_reply(f"{REPORT}\n\n{quote}\n") == REPORT


def test_bottom_posted_and_interleaved_answers_are_kept() -> None:
    text = (
        "Op 2 apr. 2024 om 10:15 schreef Meldpunt 1777 <1777@kortrijk.be>:\n"
        "> Waar ligt het afval precies?\n"
        "Naast de glasbol, kant Budastraat.\n"
        "> Sinds wanneer?\n"
        "Sinds vorige maandag."
    )
    assert strip_reply(text) == "Naast de glasbol, kant Budastraat.\nSinds vorige maandag."


@pytest.mark.parametrize(
    "text",
    [
        "Mijn buurman schreef op 3 maart al naar de stad: er is niets gebeurd.\nDe put is nog steeds open.",
        "Van: mijn huis tot aan de school zijn de tegels los.\nDat is gevaarlijk voor de kinderen.",
        "Op maandag schreef ik al dat de lamp kapot is:\n- Budastraat 12\n- Budastraat 14",
        "Groeten uit de Overleiestraat, waar het afval al drie dagen blijft liggen.\nGraag snel ophalen.",
    ],
)
def test_a_report_that_merely_contains_such_words_is_kept(text: str) -> None:
    assert strip_reply(text) == text
    assert split_signature(text) == (text, None)


def test_quote_only_reply_leaves_nothing() -> None:
    # A photo sent as a reply, with nothing typed: the report text is empty, not the quote.
    assert (
        strip_reply("On Tue, Apr 2, 2024 at 10:15 AM Meldpunt <1777@kortrijk.be> wrote:\n> Stuur een foto")
        == ""
    )


@pytest.mark.parametrize(
    ("text", "signature"),
    [
        (
            f"{REPORT}\n\n-- \nJan Peeters\nBudastraat 12, 8500 Kortrijk",
            "Jan Peeters\nBudastraat 12, 8500 Kortrijk",
        ),
        (f"{REPORT}\n\nVerzonden vanaf mijn iPhone", "Verzonden vanaf mijn iPhone"),
        (
            f"{REPORT}\n\nVerstuurd vanaf mijn Samsung Galaxy-smartphone.",
            "Verstuurd vanaf mijn Samsung Galaxy-smartphone.",
        ),
        (f"{REPORT}\n\nSent from my iPhone", "Sent from my iPhone"),
        (f"{REPORT}\n\nEnvoyé de mon iPhone", "Envoyé de mon iPhone"),
        (f"{REPORT}\n\nMet vriendelijke groeten,\n\nJan Peeters", "Met vriendelijke groeten,\n\nJan Peeters"),
        (f"{REPORT}\n\nMet vriendelijke groet\nAn De Smet", "Met vriendelijke groet\nAn De Smet"),
        (f"{REPORT}\nMvg, Jan Peeters", "Mvg, Jan Peeters"),
        (f"{REPORT}\n\nGroetjes\nLies", "Groetjes\nLies"),
        (
            f"{REPORT}\n\nKind regards,\nJohn Smith\n+32 470 12 34 56",
            "Kind regards,\nJohn Smith\n+32 470 12 34 56",
        ),
        (f"{REPORT}\n\nCordialement,\nJean Dupont", "Cordialement,\nJean Dupont"),
    ],
)
def test_signatures_are_split_off(text: str, signature: str) -> None:
    assert split_signature(text) == (REPORT, signature)


def test_flemish_signature_keeps_name_and_phone() -> None:
    text = (
        "Goedemiddag,\n\nDe straatlamp voor Doorniksesteenweg 145 brandt al een week niet meer.\n\n"
        "Met vriendelijke groeten,\n\nKatrien Vandenberghe\nDoorniksesteenweg 145\n8500 Kortrijk\n"
        "GSM: 0470/12.34.56"
    )
    body, signature = split_signature(text)
    assert body.endswith("brandt al een week niet meer.")
    assert signature is not None and signature.startswith("Met vriendelijke groeten,")
    assert find_phone(signature) == "0470/12.34.56"


def test_closing_followed_by_more_report_is_not_a_signature() -> None:
    text = (
        "Bedankt\n\nIk wil nog melden dat er sinds gisteren ook een boom over het fietspad ligt, ter hoogte "
        "van de brug over de Leie. Fietsers moeten nu over de rijweg en dat is bij donker gevaarlijk."
    )
    assert split_signature(text) == (text, None)


def test_contact_block_without_closing_is_a_signature() -> None:
    text = f"{REPORT}\n\nJan Peeters\njan.peeters@telenet.be\n056 27 72 60"
    assert split_signature(text) == (REPORT, "Jan Peeters\njan.peeters@telenet.be\n056 27 72 60")


def test_an_address_at_the_end_stays_in_the_report() -> None:
    # No phone, mail or web address: it is where the problem is, not who wrote.
    text = "Er ligt een dode kat op de stoep.\n\nMeensesteenweg 12\nKortrijk"
    assert split_signature(text) == (text, None)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("Bel me op 0470 12 34 56 a.u.b.", "0470 12 34 56"),
        ("tel. +32 470/12.34.56", "+32 470/12.34.56"),
        ("Kantoor: 056 27 72 60.", "056 27 72 60"),
        ("0032 (0)56 27 72 60", "0032 (0)56 27 72 60"),
        ("GSM 0470123456", "0470123456"),
        ("mobile +33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("0470 12 34 56 - 056 27 72 60", "0470 12 34 56"),
        ("Sinds 03.04.2024 om 10.30 uur", None),
        ("IBAN BE68 5390 0754 7034", None),
        ("postcode 8500, huisnummer 12", None),
    ],
)
def test_belgian_phone_numbers_as_written(text: str, phone: str | None) -> None:
    assert find_phone(text) == phone


def test_inline_forward_is_split_into_note_headers_and_body() -> None:
    text = (
        "Kan dit bekeken worden?\n\n---------- Doorgestuurd bericht ---------\n"
        "Van: Jan Peeters <jan.peeters@telenet.be>\nDate: di 2 apr 2024 om 10:15\n"
        "Subject: Losliggende tegel\nTo: <schepen@kortrijk.be>\n\n\nEr ligt een losse tegel voor nummer 12."
    )
    note, headers, body = split_forward(text, subject_says_forward=True) or ("", {}, "")
    assert note == "Kan dit bekeken worden?"
    assert headers["from"] == "Jan Peeters <jan.peeters@telenet.be>"
    assert headers["subject"] == "Losliggende tegel"
    assert body == "Er ligt een losse tegel voor nummer 12."


def test_outlook_block_is_a_forward_only_when_the_subject_says_so() -> None:
    text = (
        "Van: Jan <jan@example.be>\nVerzonden: dinsdag 2 april 2024 10:15\nAan: X\nOnderwerp: Put\n\nEen put."
    )
    assert split_forward(text, subject_says_forward=False) is None
    assert split_forward(text, subject_says_forward=True) is not None
