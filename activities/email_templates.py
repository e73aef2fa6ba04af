"""Render French emails from versioned templates (activities/templates/email/<id>@<v>.txt.j2).

A template file is the subject line, a line of three dashes, then the plain-text body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from schemas.french_format import french_amount, french_date

__all__ = ["RenderedEmail", "french_amount", "french_date", "render_email"]

TEMPLATE_DIR = Path(__file__).with_name("templates") / "email"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain-text mail; the HTML part will use an escaping environment
    )


def render_email(template: str, context: dict[str, object]) -> RenderedEmail:
    """Render ``template`` (``id@version``); a missing variable is an error, never a blank."""
    try:
        source = _environment().get_template(f"{template}.txt.j2")
    except jinja2.TemplateNotFound:
        raise LookupError(f"email template {template!r} not found in {TEMPLATE_DIR}") from None
    subject, _, body = source.render(context).partition("\n---\n")
    return RenderedEmail(subject=subject.strip(), body=body.strip() + "\n")
