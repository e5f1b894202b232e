"""The ombudsman's dossier of one melding as a PDF (`gateway dossier REFERENCE`).

The store gathers it (`gateway.store.dossier.gather`); this module lays it out from the Jinja2
template `gateway/http/templates/dossier.html` (autoescaped, as every page) and prints it with
WeasyPrint. Photos are embedded as thumbnails (HEIC converted by pillow-heif); other files are
listed with their sha256. Nothing is fetched: the only URLs in the document are the `data:` URIs
of those thumbnails, and a citizen's text is only ever text.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pillow_heif
from PIL import Image, UnidentifiedImageError

from gateway import texts
from gateway.melding import Attachment
from gateway.store.dossier import Dossier

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "http" / "templates"
THUMBNAIL_PX = 900  # longest side: sharp enough on A4 at 300 dpi for half the page width
# What each `source` of a status change and `routed_by` means, for the staff who read the dossier.
SOURCES = {
    "intake": "gateway (bij ontvangst)",
    "worker": "gateway (verwerking)",
    "case_system": "dossiersysteem",
    "desk": "1777-balie",
    "reporter": "melder (reactie)",
}
# Where a melding is in the gateway's own pipeline (gateway.melding.Stage), for the staff.
STAGES = {
    "received": "ontvangen, wacht op verwerking",
    "triage": "triage: wacht op de 1777-balie",
    "routed": "gerouteerd, wordt aan het dossiersysteem gegeven",
    "delivered": "in het dossiersysteem",
    "dead": "aflevering aan het dossiersysteem opgegeven",
    "answered": "afgehandeld door de balie, niet doorgegeven",
}
OUTCOMES = {  # gateway.store.attempts
    "ok": "gelukt",
    "transient": "tijdelijk mislukt",
    "permanent": "definitief geweigerd",
    "crashed": "fout in de gateway",
}


@dataclass(frozen=True)
class Photo:
    attachment: Attachment
    data_uri: str | None  # None: the file is gone or could not be decoded (error says why)
    error: str | None = None


@dataclass(frozen=True)
class RenderedDossier:
    pdf: bytes
    pages: int


def stage_label(stage: str) -> str:
    """A pipeline stage in the staff's words (the code stays beside it for whoever searches logs)."""
    return f"{STAGES[stage]} ({stage})" if stage in STAGES else stage


# `located` (gateway.dedupe.place.Place.as_dict) in the staff's words; its free-text detail stays
# as the locator wrote it.
PLACE_FIELDS = {
    "source": "bron",
    "confidence": "zekerheid",
    "street": "straat",
    "house_number": "huisnummer",
    "postcode": "postcode",
    "deelgemeente": "deelgemeente",
    "landmark": "herkenningspunt",
    "lat": "breedte",
    "lon": "lengte",
    "radius_m": "straal (m)",
    "detail": "uitleg (locator)",
}
PLACE_SOURCES = {"pin": "kaartpin", "address": "adres", "text": "uit de tekst", "none": "niet gevonden"}


# The kinds of rule (gateway/classify/rules.py, "rules:<dienst>:<kind>:<term>") in an operator's words.
_RULE_KINDS = {"keyword": "trefwoord", "phrase": "woordgroep", "pattern": "patroon"}


def rule_in_words(source: str) -> str:
    """A deciding rule as an operator reads it: "trefwoord 'dood' (Dieren)", not the stored regex
    `rules:dieren:pattern:\\b(?:dood|...`. A pattern is named by its first plain word."""
    _, _, rest = source.partition(":")
    code, _, rest = rest.partition(":")
    kind, _, term = rest.partition(":")
    if kind == "pattern":
        words = re.findall(r"[^\W\d_]{3,}", term.replace("\\b", " "))
        term = words[0] if words else ""
    term = " … ".join(part.strip() for part in term.split("*") if part.strip())
    said = f"{_RULE_KINDS.get(kind, 'trefwoord')} '{term}'" if term else "trefwoordregel"
    return f"{said} ({texts.dienst_name(code)})"


def who(source: str | None) -> str:
    """A status change's or routing's author in words; a named operator ("desk:An") stays named."""
    if not source:
        return "onbekend"
    kind, _, name = source.partition(":")
    if kind == "rules" and name:
        return f"regel: {rule_in_words(source)}"
    if kind in ("desk", "operator") and name:
        return f"1777-balie: {name}"
    if kind == "model" and name:
        return f"classificatiemodel {name}"
    if kind == "rule" and name:
        return f"regel {name}"
    if kind == "channel" and name:
        return f"kanaal {name}"
    return SOURCES.get(source, source)


def _environment(timezone: ZoneInfo) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )

    def when(value: datetime | date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return value.astimezone(timezone).strftime("%d-%m-%Y %H:%M:%S %Z")
        return value.strftime("%d-%m-%Y")

    env.filters["when"] = when
    env.filters["who"] = who
    env.filters["size"] = _size
    env.filters["status"] = lambda status: texts.status_label(status, "nl")
    env.filters["outcome"] = lambda outcome: OUTCOMES.get(outcome, outcome)
    env.filters["stage"] = stage_label
    env.filters["dienst"] = texts.dienst_name  # Dutch: the fallback language
    env.filters["place_field"] = lambda key: PLACE_FIELDS.get(key, key)
    env.filters["place_source"] = lambda source: PLACE_SOURCES.get(source, source)
    return env


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} kB".replace(".", ",")
    return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")


def photos_and_files(dossier: Dossier, attachments_dir: Path) -> tuple[list[Photo], list[Attachment]]:
    """The melding's images as thumbnails, and the other attachments (listed by hash)."""
    photos, files = [], []
    for attachment in dossier.melding.attachments:
        if attachment.content_type.startswith("image/") and attachment.state == "stored":
            photos.append(_thumbnail(attachment, attachments_dir))
        else:
            files.append(attachment)
    return photos, files


def _thumbnail(attachment: Attachment, attachments_dir: Path) -> Photo:
    path = attachments_dir / attachment.storage_path
    try:
        with Image.open(path) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85)
    except FileNotFoundError:
        return Photo(attachment, None, "het bestand is niet (meer) op schijf")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("dossier: photo %s not shown: %s", attachment.sha256, exc)
        return Photo(attachment, None, f"kon niet worden getoond: {exc}")
    return Photo(attachment, "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode())


def html(dossier: Dossier, *, attachments_dir: Path, timezone: str, generated_at: datetime) -> str:
    """The dossier as one HTML document (what WeasyPrint prints; the desk may show it too)."""
    photos, files = photos_and_files(dossier, attachments_dir)
    template = _environment(ZoneInfo(timezone)).get_template("dossier.html")
    return template.render(
        d=dossier, m=dossier.melding, photos=photos, files=files, generated_at=generated_at
    )


def render_pdf(
    dossier: Dossier, *, attachments_dir: Path, timezone: str, generated_at: datetime
) -> RenderedDossier:
    import weasyprint  # imported here: pango is loaded only by the command that prints
    from weasyprint.urls import URLFetcher

    source = html(dossier, attachments_dir=attachments_dir, timezone=timezone, generated_at=generated_at)
    # The thumbnails' data URIs only: nothing from the network or the disk, whatever a text holds.
    fetcher = URLFetcher(allowed_protocols={"data"})
    document = weasyprint.HTML(string=source, url_fetcher=fetcher).render()
    return RenderedDossier(pdf=document.write_pdf(), pages=len(document.pages))


pillow_heif.register_heif_opener()  # Image.open reads HEIC photos from iPhones
