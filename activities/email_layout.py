"""The layout around a rendered email: the HTML alternative and the payment link.

Wording lives in the versioned templates; this is presentation only, so changing it
never changes what a case's letters say.
"""

from __future__ import annotations

import html
from urllib.parse import quote


def payment_url(pattern: str, invoice_number: str, amount: str, case_id: str) -> str:
    """The creditor's payment link with ``{invoice_number}``, ``{amount}`` and ``{case_id}``
    filled in (URL-encoded); empty when no pattern is configured."""
    if not pattern:
        return ""
    return pattern.format(
        invoice_number=quote(invoice_number, safe=""),
        amount=quote(amount, safe=""),
        case_id=quote(case_id, safe=""),
    )


def text_body(body: str, url: str) -> str:
    """The plain-text part, with the payment link as its last paragraph."""
    return body if not url else f"{body.rstrip()}\n\nPayer en ligne : {url}\n"


def html_body(body: str, url: str) -> str:
    """The HTML part: the same paragraphs, escaped, and the payment link as a button."""
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    blocks = [f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs]
    if url:
        link = html.escape(url, quote=True)
        blocks.append(
            f'<p><a href="{link}" style="display:inline-block;padding:10px 16px;'
            'background:#1f4e79;color:#ffffff;text-decoration:none;border-radius:4px">'
            "Payer en ligne</a></p>"
        )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,sans-serif;font-size:14px;color:#222">'
        + "".join(blocks)
        + "</body></html>"
    )
