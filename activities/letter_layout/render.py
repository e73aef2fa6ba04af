"""Lay a ``LetterDocument`` out as HTML (the console's preview) and as PDF/A (WeasyPrint).

The PDF is WeasyPrint's rendering of the very HTML ``render_letter_html`` returns, with one
stylesheet more: the ``@font-face`` rules that bind the letters' font to Debian's DejaVu
files (fonts-dejavu-core), so the PDF embeds exactly those (as subsets) wherever it is made.
The preview names no file of the server: a browser falls back to its own DejaVu or sans-serif.

Output is deterministic: the creation and modification dates come from the document
(``LetterDocument.created_at``), the file identifier is a hash of the content, font subsets
are named by a hash, and the logo is embedded from its bytes. The PDF is PDF/A-3b (ISO
19005-3, level B: the visual appearance is preserved; WeasyPrint writes the XMP metadata
and the sRGB output intent, and embeds every font).

Nothing is fetched from the network: the only resources are the font files and data: URIs.
"""

from __future__ import annotations

import os
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import weasyprint  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

from activities.letter_layout.document import LetterDocument
from activities.letter_layout.portal_block import PORTAL_TEXT, qr_data_uri

TEMPLATE_DIR = Path(__file__).with_name("templates")
FONT_DIR = Path(os.environ.get("LETTER_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
"""Where Debian's fonts-dejavu-core puts DejaVu (deploy/bootstrap.sh installs it)."""
FONT_FAMILY = "DejaVu Sans"
FONT_FILES: dict[int, str] = {400: "DejaVuSans.ttf", 700: "DejaVuSans-Bold.ttf"}
PDF_VARIANT = "pdf/a-3b"


OWN_PAGES = frozenset({"grouped_statement", "grouped_formal_notice"})
"""Text templates laid out by a page of their own (``<name>.html.j2``) rather than by their
letter kind's: the grouped letters (activities/letter_layout/grouped.py), whose décompte of
several invoices may run over pages."""


class LetterRenderError(RuntimeError):
    """The letter cannot be laid out here (e.g. its fonts are not installed)."""


class _LocalFetcher(weasyprint.URLFetcher):  # type: ignore[misc]
    """Fetches data: URIs and the font files, nothing else (no network, no other file)."""

    def __init__(self, font_dir: Path) -> None:
        super().__init__(allowed_protocols=("data", "file"), fail_on_errors=True)
        self._font_dir = font_dir.resolve()

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("file:"):
            path = Path(url.removeprefix("file://")).resolve()
            if not path.is_relative_to(self._font_dir):
                raise ValueError(f"letters may only read their fonts, not {url}")
        return super().fetch(url, headers)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _footer(doc: LetterDocument) -> str:
    creditor = doc.creditor
    parts = [creditor.name, *creditor.address_lines]
    if creditor.siren:
        parts.append(f"SIREN {creditor.siren}")
    return " · ".join(parts)


def render_letter_html(doc: LetterDocument) -> str:
    """The letter as one self-contained HTML page (its CSS inline, its logo a data: URI),
    every value escaped."""
    created = doc.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = doc.template.partition("@")[0]
    page = name if name in OWN_PAGES else doc.kind
    template = _environment().get_template(f"{page}.html.j2")
    portal = {"text": PORTAL_TEXT, "qr": qr_data_uri(doc.portal_url)} if doc.portal_url else None
    return template.render(doc=doc, created=created, footer=_footer(doc), portal=portal)


def font_faces(font_dir: Path = FONT_DIR) -> str:
    """The @font-face rules binding the letters' font to the DejaVu files of ``font_dir``."""
    missing = [name for name in FONT_FILES.values() if not (font_dir / name).is_file()]
    if missing:
        raise LetterRenderError(
            f"DejaVu fonts missing in {font_dir}: {', '.join(missing)} (install Debian's "
            "fonts-dejavu-core: deploy/bootstrap.sh does)"
        )
    return "\n".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
        f'font-style: normal; src: url("{(font_dir / name).resolve().as_uri()}"); }}'
        for weight, name in sorted(FONT_FILES.items())
    )


def render_html_pdf(html: str) -> bytes:
    """PDF/A-3b bytes of a page ``render_letter_html`` returned (e.g. one kept with the
    outbox row), with the DejaVu fonts bound and embedded."""
    fetcher = _LocalFetcher(FONT_DIR)
    fonts = FontConfiguration()
    faces = weasyprint.CSS(string=font_faces(FONT_DIR), font_config=fonts, url_fetcher=fetcher)
    pdf = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[faces], font_config=fonts, pdf_variant=PDF_VARIANT
    )
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf(target=None) returns bytes
        raise LetterRenderError("WeasyPrint returned no PDF")
    return pdf


def render_letter_pdf(doc: LetterDocument) -> bytes:
    """The letter as PDF/A-3b bytes: WeasyPrint on ``render_letter_html(doc)``."""
    return render_html_pdf(render_letter_html(doc))
