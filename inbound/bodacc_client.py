"""BODACC's collective-proceedings notices, read from its open-data API.

The BODACC (Bulletin officiel des annonces civiles et commerciales) publishes every
judgment of a collective proceeding (C. com. R621-8, R631-7, R641-1) in the dataset
``annonces-commerciales`` of DILA's opendatasoft portal, Explore API v2.1::

    GET {base}/api/explore/v2.1/catalog/datasets/annonces-commerciales/records
        ?where=<ODSQL>&select=...&order_by=...&limit=<=100&offset=...

answered ``{"total_count": n, "results": [record, ...]}``. A record's ``registre`` lists
the debtor's SIREN twice (``["833 310 592", "833310592"]``), ``familleavis`` is
``collective`` for these notices, ``dateparution`` the publication date, ``tribunal`` the
court; ``jugement`` is a JSON *text* (``type``, ``famille``, ``nature``, ``date``,
``complementJugement``) saying which judgment it is and, in free text, whom the court
named (mandataire judiciaire, liquidateur).

``find_collective_notices`` asks for the notices of a set of SIRENs since a date, page by
page; ``parse_record`` turns one record into a ``BodaccNotice``: what an
``InsolvencyPublished`` event needs, or ``None`` for a record that is not a
collective-proceedings notice one can read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx

from schemas.bounds import MAX_NAME

RECORDS_PATH = "/api/explore/v2.1/catalog/datasets/annonces-commerciales/records"
PAGE_SIZE = 100
"""The records endpoint answers at most 100 records a call."""
MAX_WINDOW = 10_000
"""``offset + limit`` may not pass 10 000 on the records endpoint."""
SIRENS_PER_QUERY = 20
"""SIRENs asked in one ``where`` (the query stays well inside a URL's length)."""
SELECTED = (
    "id,publicationavis,parution,numeroannonce,dateparution,typeavis,familleavis,"
    "tribunal,registre,jugement"
)
"""The fields the watch reads: no name, no address (a sole trader's notice names a person)."""
MANDATAIRE_UNKNOWN = "mandataire désigné par le tribunal (non précisé au BODACC)"
"""The event needs a mandataire; a notice that names none says so in these words."""
COURT_UNKNOWN = "tribunal de la procédure (non précisé)"

Proceeding = Literal["sauvegarde", "redressement", "liquidation"]


class BodaccError(Exception):
    """BODACC could not be read (unreachable, an error answer, an unreadable body)."""


@dataclass(frozen=True)
class BodaccNotice:
    """One collective-proceedings notice, as the insolvency watch uses it."""

    notice_id: str
    published_on: date
    sirens: frozenset[str]
    court: str
    judgment: str
    """The judgment's nature (``Jugement d'ouverture d'une procédure de ...``)."""
    proceeding: Proceeding | None
    """The proceeding the judgment opens (or converts into); None for any other judgment
    (a plan, a closure, a dismissal): it starts no declaration period."""
    mandataire: str

    @property
    def opens_proceeding(self) -> bool:
        return self.proceeding is not None


_OPENING = re.compile(r"ouverture|prononçant|prononce|conversion|extension", re.IGNORECASE)
_NOT_OPENING = re.compile(r"clôture|cloture|infirm|dépôt|faillite personnelle", re.IGNORECASE)
_ROLE = r"(?:mandataire\s+judiciaire|liquidateur(?:\s+judiciaire)?|mandataire)"
_NAMED = (
    # "désignant mandataire judiciaire SELARL X, ..." / "désignant liquidateur Me Y ..."
    re.compile(
        rf"(?:désignant|désigne|nommant|nomme)\s+(?:en\s+qualité\s+de\s+)?{_ROLE}\s*:?\s*"
        r"(?P<name>[^,;\n]+)",
        re.IGNORECASE,
    ),
    # "Mandataire judiciaire : SELARL X, ..."
    re.compile(rf"{_ROLE}\s*(?:désigné\s*)?:\s*(?P<name>[^,;\n]+)", re.IGNORECASE),
)
_NAME_END = re.compile(
    r"\s+(?:prise?\s+en\s+la\s+personne|demeurant|domicilié|sise?|\d{1,4}\s*(?:bis|ter)?\s"
    r"|les\s+déclarations|les\s+créances)",
    re.IGNORECASE,
)


def _compact_sirens(registre: Any) -> frozenset[str]:
    values = registre if isinstance(registre, list) else str(registre or "").split(",")
    found = set()
    for value in values:
        digits = re.sub(r"\D", "", str(value))
        if len(digits) == 9:
            found.add(digits)
    return frozenset(found)


def _jugement(record: dict[str, Any]) -> dict[str, Any]:
    raw = record.get("jugement")
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def proceeding_of(famille: str, nature: str) -> Proceeding | None:
    """The proceeding a judgment opens, from its ``famille`` and ``nature``; None for a
    judgment that opens none (plan, closure, modification...)."""
    text = f"{famille} {nature}"
    if not _OPENING.search(text) or _NOT_OPENING.search(text):
        return None
    lowered = text.lower()
    for word, proceeding in (
        ("liquidation", "liquidation"),
        ("redressement", "redressement"),
        ("sauvegarde", "sauvegarde"),
    ):
        if word in lowered:
            return proceeding  # type: ignore[return-value]
    return None


def mandataire_of(complement: str) -> str:
    """Whom the court named, from the judgment's free text: the mandataire judiciaire or
    the liquidateur, up to the first comma (their address follows); ``MANDATAIRE_UNKNOWN``
    when the text names none."""
    found = next((m for m in (p.search(complement or "") for p in _NAMED) if m), None)
    if found is None:  # "... à adresser au mandataire judiciaire" names nobody
        return MANDATAIRE_UNKNOWN
    name = _NAME_END.split(found["name"], maxsplit=1)[0]
    name = re.sub(r"\s+", " ", name).strip(" .:-")
    return name[:MAX_NAME] if name else MANDATAIRE_UNKNOWN


def parse_record(record: dict[str, Any]) -> BodaccNotice | None:
    """A collective-proceedings record as a ``BodaccNotice``; None when it is not one
    (another family, a cancelled notice, no SIREN, no readable date)."""
    if record.get("familleavis") != "collective" or record.get("typeavis") == "annulation":
        return None
    notice_id = str(record.get("id") or "").strip()
    sirens = _compact_sirens(record.get("registre"))
    try:
        published_on = date.fromisoformat(str(record.get("dateparution")))
    except ValueError:
        return None
    if not notice_id or not sirens:
        return None
    jugement = _jugement(record)
    famille = str(jugement.get("famille") or "")
    nature = str(jugement.get("nature") or "")
    court = re.sub(r"\s+", " ", str(record.get("tribunal") or "")).strip()
    return BodaccNotice(
        notice_id=notice_id[:80],
        published_on=published_on,
        sirens=sirens,
        court=court[:MAX_NAME] or COURT_UNKNOWN,
        judgment=(nature or famille)[:MAX_NAME],
        proceeding=proceeding_of(famille, nature),
        mandataire=mandataire_of(str(jugement.get("complementJugement") or "")),
    )


def collective_where(sirens: Iterable[str], since: date) -> str:
    """The ODSQL filter: collective-proceedings notices of these SIRENs since ``since``."""
    wanted = " OR ".join(f'registre = "{s}"' for s in sorted(set(sirens)))
    return (
        f"familleavis = \"collective\" AND dateparution >= date'{since.isoformat()}' AND ({wanted})"
    )


async def _page(http: httpx.AsyncClient, url: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        response = await http.get(url, params=params)
    except httpx.HTTPError as err:
        raise BodaccError(f"BODACC unreachable: {err}") from err
    if response.status_code != 200:
        raise BodaccError(f"BODACC answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as err:
        raise BodaccError("BODACC answered a body that is not JSON") from err
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise BodaccError("BODACC answered without results")
    return body


async def find_collective_notices(
    http: httpx.AsyncClient, base_url: str, sirens: Iterable[str], since: date
) -> list[BodaccNotice]:
    """Every readable collective-proceedings notice of ``sirens`` published since
    ``since``, oldest first (each notice once). Raises BodaccError if BODACC cannot be
    read: a pass that fails finds nothing rather than half."""
    url = base_url.rstrip("/") + RECORDS_PATH
    ordered = sorted({s for s in sirens if re.fullmatch(r"\d{9}", s)})
    found: dict[str, BodaccNotice] = {}
    for start in range(0, len(ordered), SIRENS_PER_QUERY):
        where = collective_where(ordered[start : start + SIRENS_PER_QUERY], since)
        offset = 0
        while offset + PAGE_SIZE <= MAX_WINDOW:
            params = {
                "where": where,
                "select": SELECTED,
                "order_by": "dateparution, id",
                "limit": str(PAGE_SIZE),
                "offset": str(offset),
            }
            body = await _page(http, url, params)
            results = [r for r in body["results"] if isinstance(r, dict)]
            for record in results:
                notice = parse_record(record)
                if notice is not None:
                    found.setdefault(notice.notice_id, notice)
            offset += PAGE_SIZE
            if not results or offset >= int(body.get("total_count") or 0):
                break
    return sorted(found.values(), key=lambda n: (n.published_on, n.notice_id))
