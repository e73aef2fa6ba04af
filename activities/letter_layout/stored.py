"""The laid-out letter as the outbox keeps it, and the PDF that is printed from a row.

``layout_json`` is called where a channel document is recorded: the letter's layout as JSON
(stored beside the text body, sealed like it), or None for a template with no layout (an
operator task) or a context the layout cannot read. A layout problem is logged and the text
letter stands: a letter is never held back by its layout. ``printed_pdf`` is what the
provider, the email attachment and the dossier print: the laid-out PDF when the row has a
layout, else (rows recorded before layouts existed) the text rendered as a plain PDF.
"""

from __future__ import annotations

import logging
from datetime import datetime

from activities.channel_requests import ChannelRequest
from activities.channel_templates import InvalidContextValue, MissingContextKeys
from activities.letter_layout.amounts import LetterContextError
from activities.letter_layout.builder import LETTER_KEYS, build_letter_document
from activities.letter_layout.document import document_from_json, document_to_json
from activities.letter_layout.portal_block import with_portal
from activities.letter_layout.render import render_letter_pdf as render_layout_pdf
from activities.letter_layout.settings import LetterheadSettings
from activities.registered_mail.letter_pdf import render_letter_pdf as render_text_pdf

log = logging.getLogger("recouvre.letters")


def layout_json(request: ChannelRequest, reference: str, portal_url: str = "") -> str | None:
    """The letter of ``request`` (the debtor's identity resolved) laid out, as JSON; a
    letter to the debtor with its ``portal_url`` (activities/letter_layout/portal_block.py)."""
    if request.template not in LETTER_KEYS:
        return None
    try:
        document = with_portal(
            build_letter_document(
                request.template,
                request.context,
                request.recipient,
                reference=reference,
                letterhead=LetterheadSettings(),
            ),
            portal_url,
        )
    except (MissingContextKeys, InvalidContextValue, LetterContextError) as err:
        # Names no one: the error says which key or amount, not whose letter it is.
        log.warning("%s: no layout for %s (%s)", request.idempotency_key, request.template, err)
        return None
    except Exception:  # a letterhead setting (SIREN, logo) it cannot use: the text stands
        log.exception("%s: no layout for %s", request.idempotency_key, request.template)
        return None
    return document_to_json(document)


def printed_pdf(
    body: str, layout: str | None, *, title: str, reference: str, created_at: datetime
) -> bytes:
    """The PDF of an outbox row as it is printed and posted."""
    if layout and layout.startswith("{"):  # not sealed without a vault, nor erased
        try:
            return render_layout_pdf(document_from_json(layout))
        except Exception:  # WeasyPrint or its fonts missing here: the text PDF, not nothing
            log.exception("%s: laid-out letter not rendered; its text is printed", reference)
    return render_text_pdf(body, title=title, reference=reference, created_at=created_at)
