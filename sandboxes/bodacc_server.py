"""A local stand-in for BODACC's open-data API, for tests and `recouvre run`.

It answers the one call recouvre makes of DILA's opendatasoft portal (Explore API v2.1,
dataset ``annonces-commerciales``), as that API documents it::

    GET /api/explore/v2.1/catalog/datasets/annonces-commerciales/records

- ``where``: ODSQL: comparisons ``field = | != | > | >= | < | <= value``, ``field like
  "text"`` (case-insensitive; ``*`` or ``%`` as wildcards, else the text must appear in
  the value), ``AND``, ``OR``, ``NOT``, parentheses; values are "double" or 'single'
  quoted texts, numbers, or ``date'YYYY-MM-DD'``. On a list field (``registre``) a
  comparison holds if it holds for one of its values, as on the real portal. An unknown
  field or a syntax error answers 400 ``ODSQLError``;
- ``select`` (field names, comma-separated; ``*`` by default), ``order_by`` (``field
  [asc|desc], ...``), ``limit`` (default 10, at most 100) and ``offset``: ``offset +
  limit`` may not pass 10 000 (400 ``InvalidRESTParameterError``, as on the portal);
- answers ``{"total_count": n, "results": [...]}`` with the records' real fields (see
  ``notice_record``): ``jugement`` and ``listepersonnes`` are JSON *texts*, ``registre`` a
  list holding the SIREN spaced and compact.

Not the portal's: ``q``, ``group_by``, ``refine``, aggregates and ODSQL functions are not
implemented (recouvre does not use them). The notices are what a test or an operator
publishes: ``POST /_sandbox/records`` (a record, or a list of them; 201) and ``DELETE
/_sandbox/records``, or ``BodaccSandbox.publish`` in process. `start_sandbox_bodacc` runs it
under uvicorn in a thread of its own, like the other sandboxes.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import uvicorn
from fastapi import Body, FastAPI, Query
from fastapi.responses import JSONResponse

RECORDS_PATH = "/api/explore/v2.1/catalog/datasets/annonces-commerciales/records"
FIELDS = (
    "id",
    "publicationavis",
    "publicationavis_facette",
    "parution",
    "dateparution",
    "numeroannonce",
    "typeavis",
    "typeavis_lib",
    "familleavis",
    "familleavis_lib",
    "numerodepartement",
    "departement_nom_officiel",
    "region_code",
    "region_nom_officiel",
    "tribunal",
    "commercant",
    "ville",
    "cp",
    "registre",
    "url_complete",
    "jugement",
    "listepersonnes",
    "listeetablissements",
    "acte",
    "modificationsgenerales",
    "radiationaurcs",
    "depot",
    "listeprecedentexploitant",
    "listeprecedentproprietaire",
    "divers",
    "ispdf_unpublished",
)
"""The dataset's fields (what ``where``, ``select`` and ``order_by`` may name)."""
DATE_FIELDS = frozenset({"dateparution"})
MAX_LIMIT = 100
MAX_WINDOW = 10_000


class OdsqlError(ValueError):
    """A ``where`` or ``order_by`` the portal would refuse."""


def notice_record(
    siren: str,
    *,
    notice_id: str,
    published_on: date,
    nature: str = "Jugement d'ouverture d'une procédure de redressement judiciaire",
    famille: str = "Jugement d'ouverture",
    complement: str = "",
    tribunal: str = "TRIBUNAL DE COMMERCE DE PARIS",
    name: str = "SOCIETE EXEMPLE",
    familleavis: str = "collective",
    typeavis: str = "annonce",
    judged_on: date | None = None,
) -> dict[str, Any]:
    """A record shaped as the portal's (field names, types, JSON texts), for one SIREN."""
    spaced = f"{siren[:3]} {siren[3:6]} {siren[6:]}"
    libs = {
        "collective": "Procédures collectives",
        "creation": "Créations",
        "modification": "Modifications diverses",
        "radiation": "Radiations",
        "vente": "Ventes et cessions",
    }
    jugement = None
    if familleavis == "collective":
        jugement = json.dumps(
            {
                "type": "initial",
                "famille": famille,
                "nature": nature,
                "date": (judged_on or published_on).isoformat(),
                "complementJugement": complement,
            },
            ensure_ascii=False,
        )
    personnes = {
        "personne": {
            "typePersonne": "pm",
            "denomination": name,
            "numeroImmatriculation": {
                "codeRCS": "RCS",
                "numeroIdentification": spaced,
                "nomGreffeImmat": "Paris",
            },
        }
    }
    return {
        "id": notice_id,
        "publicationavis": "A",
        "publicationavis_facette": "Bodacc A",
        "parution": f"{published_on.year}0{published_on.timetuple().tm_yday:03d}",
        "dateparution": published_on.isoformat(),
        "numeroannonce": int(re.sub(r"\D", "", notice_id)[-4:] or 1),
        "typeavis": typeavis,
        "typeavis_lib": {"annonce": "Avis initial", "rectificatif": "Avis rectificatif"}.get(
            typeavis, "Avis d'annulation"
        ),
        "familleavis": familleavis,
        "familleavis_lib": libs.get(familleavis, familleavis),
        "numerodepartement": "75",
        "departement_nom_officiel": "Paris",
        "region_code": 11,
        "region_nom_officiel": "Île-de-France",
        "tribunal": tribunal,
        "commercant": name,
        "ville": "Paris",
        "cp": "75002",
        "registre": [spaced, siren],
        "url_complete": f"https://www.bodacc.fr/pages/annonces-commerciales-detail/?q.id=id:{notice_id}",
        "jugement": jugement,
        "listepersonnes": json.dumps(personnes, ensure_ascii=False),
        "listeetablissements": None,
        "acte": None,
        "modificationsgenerales": None,
        "radiationaurcs": None,
        "depot": None,
        "listeprecedentexploitant": None,
        "listeprecedentproprietaire": None,
        "divers": None,
        "ispdf_unpublished": None,
    }


# --- ODSQL, the part recouvre uses ---

_TOKEN = re.compile(
    r"\s*(?:(?P<date>date'\d{4}-\d{2}-\d{2}')|\"(?P<dq>(?:[^\"\\]|\\.)*)\""
    r"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|=|>|<|\(|\)|,)"
    r"|(?P<word>`?[A-Za-z_][A-Za-z0-9_]*`?))"
)
Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any


def _tokens(text: str) -> list[_Tok]:
    found: list[_Tok] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise OdsqlError(f"Syntax error at character {position}: {text[position:][:20]!r}")
        position = match.end()
        if match["date"]:
            found.append(_Tok("value", date.fromisoformat(match["date"][5:-1])))
        elif match["dq"] is not None:
            found.append(_Tok("value", match["dq"].replace('\\"', '"')))
        elif match["sq"] is not None:
            found.append(_Tok("value", match["sq"].replace("\\'", "'")))
        elif match["num"]:
            found.append(_Tok("value", float(match["num"])))
        elif match["op"]:
            found.append(_Tok("op", match["op"]))
        else:
            found.append(_Tok("word", match["word"].strip("`")))
    return found


def _comparable(field: str, value: Any, wanted: Any) -> tuple[Any, Any]:
    if isinstance(wanted, date) or field in DATE_FIELDS:
        try:
            stored = date.fromisoformat(str(value)[:10])
            asked = wanted if isinstance(wanted, date) else date.fromisoformat(str(wanted))
        except ValueError:
            return str(value), str(wanted)
        return stored, asked
    if isinstance(wanted, float):
        try:
            return float(value), wanted
        except (TypeError, ValueError):
            return str(value), str(wanted)
    return str(value), str(wanted)


def _like(value: Any, pattern: str) -> bool:
    text = str(value).lower()
    wanted = pattern.lower()
    if "*" in wanted or "%" in wanted:
        regex = ".*".join(re.escape(part) for part in re.split(r"[*%]", wanted))
        return re.fullmatch(regex, text, re.DOTALL) is not None
    return wanted in text


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def _peek(self) -> _Tok | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> _Tok:
        token = self._peek()
        if token is None:
            raise OdsqlError("Syntax error: the expression ends too early")
        self.at += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and str(token.value).upper() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek() is not None:
            raise OdsqlError(f"Syntax error near {self._peek()!r}")
        return predicate

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._keyword("AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _not(self) -> Predicate:
        if self._keyword("NOT"):
            inner = self._not()
            return lambda r: not inner(r)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._take()
        if token.kind == "op" and token.value == "(":
            inner = self._or()
            closing = self._take()
            if closing.value != ")":
                raise OdsqlError("Syntax error: a parenthesis is not closed")
            return inner
        if token.kind != "word":
            raise OdsqlError(f"Syntax error: a field name is expected, not {token.value!r}")
        field = str(token.value)
        if field not in FIELDS:
            raise OdsqlError(f"Unknown field: {field}")
        operator = self._take()
        if operator.kind == "word" and str(operator.value).upper() == "LIKE":
            pattern = self._take()
            if pattern.kind != "value" or not isinstance(pattern.value, str):
                raise OdsqlError("Syntax error: like takes a quoted text")
            return lambda r: any(_like(v, pattern.value) for v in _values(r, field))
        if operator.kind != "op" or operator.value not in _COMPARE:
            raise OdsqlError(f"Syntax error: an operator is expected after {field}")
        operand = self._take()
        if operand.kind != "value":
            raise OdsqlError(f"Syntax error: a value is expected after {field}")
        compare = _COMPARE[operator.value]

        def holds(record: dict[str, Any]) -> bool:
            return any(
                compare(*_comparable(field, value, operand.value))
                for value in _values(record, field)
            )

        return holds


def _values(record: dict[str, Any], field: str) -> list[Any]:
    value = record.get(field)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def parse_where(where: str) -> Predicate:
    """The records a ``where`` keeps (an empty one keeps all)."""
    if not where.strip():
        return lambda _record: True
    return _Parser(where).parse()


def sort_records(records: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    """``order_by``: ``field [asc|desc]``, comma-separated; the last key is applied first."""
    ordered = list(records)
    keys = [part.split() for part in order_by.split(",") if part.strip()]
    for key in reversed(keys):
        field = key[0].strip("`")
        if field not in FIELDS or len(key) > 2:
            raise OdsqlError(f"order_by: cannot sort on {' '.join(key)!r}")
        descending = len(key) == 2 and key[1].lower() == "desc"
        if len(key) == 2 and key[1].lower() not in ("asc", "desc"):
            raise OdsqlError(f"order_by: {key[1]!r} is neither asc nor desc")
        present = [r for r in ordered if r.get(field) is not None]
        missing = [r for r in ordered if r.get(field) is None]
        present.sort(key=lambda r: str(r.get(field)), reverse=descending)
        ordered = present + missing
    return ordered


def _bad_parameter(message: str) -> JSONResponse:
    return JSONResponse(
        {"error_code": "InvalidRESTParameterError", "message": message}, status_code=400
    )


class BodaccSandbox:
    """The published notices and the app serving them."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = list(records or [])
        self.queries: list[dict[str, str]] = []
        """Every records query received (its parameters), oldest first."""
        self.app = self._build()

    def publish(self, *records: dict[str, Any]) -> None:
        """Add notices (a record whose id is already published replaces it)."""
        with self._lock:
            ids = {r.get("id") for r in records}
            self._records = [r for r in self._records if r.get("id") not in ids]
            self._records.extend(dict(r) for r in records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.queries.clear()

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def answer(
        self, where: str, select: str, order_by: str, limit: int, offset: int
    ) -> dict[str, Any]:
        """The records endpoint's answer (raises OdsqlError for what the portal refuses)."""
        keep = parse_where(where)
        matched = sort_records([r for r in self.records() if keep(r)], order_by)
        page = matched[offset:] if limit == -1 else matched[offset : offset + limit]
        fields = [f.strip().strip("`") for f in select.split(",") if f.strip()]
        if fields and fields != ["*"]:
            unknown = [f for f in fields if f not in FIELDS]
            if unknown:
                raise OdsqlError(f"Unknown field: {unknown[0]}")
            page = [{f: r.get(f) for f in fields} for r in page]
        return {"total_count": len(matched), "results": page}

    def _build(self) -> FastAPI:
        app = FastAPI(title="BODACC sandbox (opendatasoft Explore API v2.1)")

        @app.get(RECORDS_PATH)
        async def records(
            where: str = "",
            select: str = "*",
            order_by: str = "",
            limit: int = Query(default=10),
            offset: int = Query(default=0),
        ) -> JSONResponse:
            self.queries.append(
                {
                    "where": where,
                    "select": select,
                    "order_by": order_by,
                    "limit": str(limit),
                    "offset": str(offset),
                }
            )
            if limit < -1 or limit > MAX_LIMIT:
                return _bad_parameter(f"Invalid value for limit: {limit} (-1 to {MAX_LIMIT})")
            if offset < 0:
                return _bad_parameter(f"Invalid value for offset: {offset}")
            if offset + max(limit, 0) > MAX_WINDOW:
                return _bad_parameter(
                    f"Invalid value for limit + offset: must be lower than {MAX_WINDOW}"
                )
            try:
                answer = self.answer(where, select, order_by, limit, offset)
            except OdsqlError as err:
                return JSONResponse(
                    {"error_code": "ODSQLError", "message": str(err)}, status_code=400
                )
            return JSONResponse(answer)

        @app.post("/_sandbox/records", status_code=201)
        async def publish(body: Any = Body(...)) -> dict[str, int]:
            found = body if isinstance(body, list) else [body]
            self.publish(*[r for r in found if isinstance(r, dict)])
            return {"published": len(found)}

        @app.delete("/_sandbox/records", status_code=204)
        async def clear() -> None:
            self.clear()

        return app


@dataclass
class BodaccSandboxHandle:
    url: str
    sandbox: BodaccSandbox
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def start_sandbox_bodacc(
    host: str = "127.0.0.1", port: int = 0, *, startup_timeout_s: float = 10.0
) -> BodaccSandboxHandle:
    """Serve a fresh sandbox on ``port`` (0: a free one) in a daemon thread; return once it
    accepts connections."""
    sandbox = BodaccSandbox()
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), name="bodacc-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the BODACC sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return BodaccSandboxHandle(f"http://{host}:{bound}", sandbox, server, thread)
