"""Draw the first page of each laid-out letter kind into this folder (PNG, 60 dpi).

    .venv/bin/python docs/images/letters/render.py [--debtor business|consumer|public]
        [--only NAME ...]

Each letter is built from the sample context of activities/letter_layout/samples.py,
rendered to PDF by activities/letter_layout and drawn by poppler's
``pdftoppm -png -r 60 -singlefile`` (Debian's poppler-utils, installed by
deploy/bootstrap.sh). Writes <kind>.png for the business debtor and, with --debtor,
<kind>-<debtor>.png for that debtor instead. The grouped formal notice
(grouped_formal_notice.png: activities/letter_layout/grouped.py) lists three invoices of
the sample debtor (``sample_grouped_items``). --only draws the named images alone.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

from activities.letter_layout import (
    DEBTOR_KINDS,
    DebtorKind,
    LetterDocument,
    LetterheadSettings,
    build_grouped_letter_document,
    build_letter_document,
    render_letter_pdf,
)
from activities.letter_layout.samples import (
    TEMPLATES,
    sample_context,
    sample_grouped_items,
    sample_recipient,
)

HERE = Path(__file__).resolve().parent
REFERENCE = "OUT-3f2a9c41d0b7"
GROUPED: dict[str, str] = {"grouped_formal_notice": "grouped_formal_notice@1"}
"""The grouped letters drawn, by image name."""
NAMES = (*TEMPLATES, *GROUPED)


def _documents(
    debtor: DebtorKind, letterhead: LetterheadSettings, only: set[str]
) -> list[tuple[str, LetterDocument]]:
    documents: list[tuple[str, LetterDocument]] = []
    for kind, template in TEMPLATES.items():
        if kind not in only:
            continue
        doc = build_letter_document(
            template,
            sample_context(kind, debtor),
            sample_recipient(kind, debtor),
            reference=REFERENCE,
            letterhead=letterhead,
        )
        documents.append((kind, doc))
    for name, template in GROUPED.items():
        if name not in only:
            continue
        doc = build_grouped_letter_document(
            template,
            sample_grouped_items(template, debtor),
            sample_recipient("formal_notice", debtor),
            reference=REFERENCE,
            letterhead=letterhead,
        )
        documents.append((name, doc))
    return documents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtor", choices=DEBTOR_KINDS, default=None)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--only", choices=NAMES, action="append", default=None)
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm is missing: apt-get install poppler-utils", file=sys.stderr)
        return 1
    debtor: DebtorKind = cast(DebtorKind, args.debtor or "business")
    letterhead = LetterheadSettings(CREDITOR_SIREN="732829320")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name, doc in _documents(debtor, letterhead, set(args.only or NAMES)):
            pdf = Path(scratch) / f"{name}.pdf"
            pdf.write_bytes(render_letter_pdf(doc))
            stem = name if args.debtor is None else f"{name}-{debtor}"
            target = args.out / stem
            subprocess.run(
                [pdftoppm, "-png", "-r", "60", "-singlefile", str(pdf), str(target)], check=True
            )
            print(f"{target}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
