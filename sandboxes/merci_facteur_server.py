"""A local stand-in for Merci Facteur's mail API, for tests, demos and `recouvre run`.

It speaks the API as Merci Facteur's public repository MerciFacteur/Merci-facteur-API
describes it (transcribed in tests/contracts/merci_facteur/, against which tests/contracts
checks every exchange), under ``/api/1.2/prod/service`` like the real base URL:

- ``GET getToken``: ``ww-service-id``, ``ww-timestamp`` (within 5 minutes) and
  ``ww-service-signature`` (HMAC-SHA256 of service id + timestamp, keyed by the secret key,
  lowercase hex); ``ww-authorized-ip`` binds the token to those IPs (absent: an account whose
  IP restriction was lifted). The token lives 24 h and a valid one is answered again;
- then ``ww-access-token`` + ``ww-service-id`` on ``getCountry`` (zones fr, om1, om2 and a
  few foreign names), ``sendCourrier`` (multipart or url-encoded form: ``idUser``, ``adress``
  and ``content`` as JSON texts, ``modeEnvoi``, ``antidoublon``, ``anonymize``), ``listEnvois``,
  ``getEnvoi`` and ``getSuiviEnvoi``;
- webhooks to the account's endpoint URL: form fields ``event`` and ``detail`` (JSON texts),
  header ``X-Mf-Webhook-Secret-Key``; anything but 200 is tried twice more, after
  ``webhook_retry_delays`` (Merci Facteur: 60 minutes, then 24 hours).

Not published, so the sandbox's own choices (tests must not rely on them as Merci
Facteur's): the error codes (``success: false`` with 400, or 401 for credentials); the shape
of ``suiviCourrier`` (a list, oldest first, of the webhooks' tracking fields: ``ref_courrier``,
``statut_courrier``, ``statut_description``, ``tracking_number``...); ``statutPrintEnvoi`` and
``statut`` values (``wait`` until printed, then ``imprime``); the status descriptions' wording.

A letter's life, in seconds after ``sendCourrier`` (``MerciFacteurSchedule``):

    wait (new) -> imprime (printed, tracking number)
    -> pris_en_charge (new-state), scan_pdd (pdd, with the deposit proof PDF)
    -> distribution_en_cours, or attente_au_guichet (presented, "avisé")
    -> the outcome

The outcome follows the last word of the recipient's name (``nom`` or ``societe``):
``REFUSE`` refused (``retour_expediteur`` "pli refusé", then ``distribue_expediteur``),
``ABSENT`` not collected (``attente_au_guichet``, then a return "non réclamé"), ``NPAI`` wrong
address (``non_distribuable``, a return "destinataire inconnu"); ``REJET``: sendCourrier
refuses the letter; anything else: ``distribue`` (delivered) and, in ``lrare``, ``retour_are``
(are, with the scanned AR as a JPEG). In ``lrare`` a return ends with ``archivage_pnd``.

`start_sandbox_merci_facteur` runs it under uvicorn in a thread of its own (its own event
loop), like sandboxes/registered_mail_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image, ImageDraw

from activities.registered_mail.merci_facteur_settings import (
    WEBHOOK_SECRET_HEADER,
    MerciFacteurSettings,
)
from sandboxes.registered_mail_proofs import NOTICE, deposit_proof_pdf

log = logging.getLogger("recouvre.sandbox.merci_facteur")

EventHooks = dict[str, list[Callable[..., Any]]]
SERVICE_PATH = "/api/1.2/prod/service"
STATE_FILE = "merci-facteur-sandbox.json"
TOKEN_LIFETIME_S = 24 * 3600
SIGNATURE_WINDOW_S = 300
ANTIDOUBLON_WINDOW_S = 30 * 24 * 3600
PARIS = ZoneInfo("Europe/Paris")
COUNTRIES: dict[str, tuple[str, ...]] = {
    # php-class/apiMf.class.php's getCountry docblock; z1 and z2 only its two examples
    "fr": ("FRANCE",),
    "om1": (
        "GUADELOUPE",
        "GUYANE FRANCAISE",
        "MARTINIQUE",
        "MAYOTTE",
        "REUNION",
        "SAINT BARTHELEMY",
        "SAINT MARTIN",
        "ST-PIERRE-MIQUELON",
    ),
    "om2": (
        "CLIPPERTON",
        "NOUVELLE CALEDONIE",
        "POLYNESIE FRANCAISE",
        "TERRES AUSTRALES FR",
        "WALLIS ET FUTUNA",
    ),
    "z1": ("ESPAGNE",),
    "z2": ("BRESIL",),
}
ALL_COUNTRIES = frozenset(name for names in COUNTRIES.values() for name in names)
PAPER_MODES = frozenset({"lrar", "lrare", "suivi", "normal"})
MODES = PAPER_MODES | {"ere_otp_mail", "ere_otp_sms"}
LIMITS = {
    "civilite": 12,
    "societe": 90,
    "nom": 70,
    "prenom": 70,
    "adresse1": 90,
    "adresse2": 90,
    "adresse3": 90,
    "cp": 12,
    "ville": 70,
    "pays": 70,
}
ADDRESS_FIELDS = tuple(LIMITS)
_REFERENCE = re.compile(r"^[A-Za-z0-9 _-]{0,30}$")
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")
EVENT_OF: dict[str, str] = {
    # README.md, the status tables: which event carries which status
    "wait": "new",
    "imprime": "printed",
    "pris_en_charge": "new-state",
    "distribution_en_cours": "new-state",
    "attente_au_guichet": "new-state",
    "non_distribuable": "error",
    "retour_expediteur": "error",
    "distribue": "delivered",
    "distribue_expediteur": "pnd",
    "archivage_pnd": "pnd",
    "retour_are": "are",
    "scan_pdd": "pdd",
}
LABELS: dict[str, str] = {
    # the sandbox's own wording ("DD/MM/YYYY : " is prepended, as in every published example)
    "wait": "En attente d'impression (bac à sable)",
    "imprime": "Imprimé, bientôt posté (bac à sable)",
    "pris_en_charge": "Remis à La Poste (bac à sable)",
    "scan_pdd": "Preuve de dépôt numérisée (bac à sable)",
    "distribution_en_cours": "En cours de distribution (bac à sable)",
    "attente_au_guichet": "Destinataire absent, avisé : pli en instance au guichet",
    "non_distribuable": "Pli non distribuable : destinataire inconnu à l'adresse",
    "retour_refused": "Retour à l'expéditeur : pli refusé par le destinataire",
    "retour_not_collected": "Retour à l'expéditeur : pli avisé et non réclamé",
    "retour_wrong_address": "Retour à l'expéditeur : destinataire inconnu à l'adresse",
    "distribue": "Distribué au destinataire (bac à sable)",
    "distribue_expediteur": "Distribué à l'expéditeur en retour (bac à sable)",
    "archivage_pnd": "Pli non distribué archivé (bac à sable)",
    "retour_are": "Avis de réception signé numérisé (bac à sable)",
}
OUTCOMES_BY_WORD = {
    "REFUSE": "refused",
    "ABSENT": "not_collected",
    "NPAI": "wrong_address",
    "REJET": "rejected",
}


@dataclass(frozen=True)
class MerciFacteurCredentials:
    """What the sandbox account accepts."""

    service_id: str = "public-recouvre-sandbox"
    secret_key: str = "secret-recouvre-sandbox-key"
    user_id: int = 1001
    sender_address_id: int = 501
    """An address of the account's book (``adress.exp`` may name it)."""


@dataclass(frozen=True)
class MerciFacteurSchedule:
    """Seconds after sendCourrier of each step, and the webhooks' retry delays."""

    print_after: float = 0.0
    deposit_after: float = 1.0
    present_after: float = 2.0
    outcome_after: float = 3.0
    webhook_retry_delays: tuple[float, ...] = (0.5, 1.0)
    """Merci Facteur's are 3600 s then 86400 s: two more attempts."""
    outcome_for: Callable[[dict[str, Any]], str] | None = None
    """recipient address object -> delivered | not_collected | refused | wrong_address |
    rejected."""


def outcome_by_name(recipient: dict[str, Any]) -> str:
    """The documented rule: the last word of the recipient's ``nom`` or ``societe``."""
    name = f"{recipient.get('nom') or ''} {recipient.get('societe') or ''}".upper().split()
    return OUTCOMES_BY_WORD.get(name[-1] if name else "", "delivered")


def _fail(code: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"success": False, "error": code}, status_code=status)


def _ok(**fields: Any) -> JSONResponse:
    return JSONResponse({"success": True, "error": None, **fields})


def _today_label(code: str, moment: float | None = None) -> str:
    when = datetime.fromtimestamp(time.time() if moment is None else moment, PARIS)
    return f"{when:%d/%m/%Y} : {LABELS.get(code, code)}"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _pages(pdf: bytes) -> int:
    return max(1, len(_PAGE.findall(pdf)))


def _address_problem(value: Any, *, recipient: bool) -> str | None:
    """README.md's rules for an address object: nom or societe, cp, ville, pays (a
    getCountry spelling, any case), the characters limits, a reference of at most 30
    characters of letters, digits, spaces, - and _."""
    if not isinstance(value, dict):
        return "ADRESS_INVALID"
    for key, limit in LIMITS.items():
        text = value.get(key, "")
        if not isinstance(text, str):
            return f"ADRESS_{key.upper()}_INVALID"
        if len(text) > limit:
            return f"ADRESS_{key.upper()}_TOO_LONG"
    if not (value.get("nom") or value.get("societe")):
        return "ADRESS_NOM_OR_SOCIETE_REQUIRED"
    for key in ("cp", "ville", "pays"):
        if not value.get(key):
            return f"ADRESS_{key.upper()}_REQUIRED"
    if str(value["pays"]).upper() not in ALL_COUNTRIES:
        return "ADRESS_PAYS_UNKNOWN"
    reference = value.get("reference")
    if reference is not None:
        if not recipient:
            return "ADRESS_REFERENCE_INVALID"
        if not isinstance(reference, str) or not _REFERENCE.match(reference):
            return "ADRESS_REFERENCE_INVALID"
    return None


@dataclass
class MerciFacteurState:
    """Everything the sandbox knows; mutated only on the server's event loop."""

    credentials: MerciFacteurCredentials
    schedule: MerciFacteurSchedule
    webhook_url: str | None = None
    webhook_secret: str = ""
    state_dir: Path | None = None
    next_id: int = field(default_factory=lambda: 10_000_000 + secrets.randbelow(10**9))
    """The last envoi id given (random start: ids of two sandboxes do not meet in one
    database)."""
    envois: dict[str, dict[str, Any]] = field(default_factory=dict)
    """envoi id -> the sending, its letters (``courriers``) and their tracking."""
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    """Every webhook with its attempts (for tests and demos)."""

    def save(self) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        target = self.state_dir / STATE_FILE
        temporary = target.with_suffix(".tmp")
        data = {"next_id": self.next_id, "envois": self.envois}
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        temporary.replace(target)

    def load(self) -> None:
        if self.state_dir is None or not (self.state_dir / STATE_FILE).exists():
            return
        data = json.loads((self.state_dir / STATE_FILE).read_text(encoding="utf-8"))
        self.next_id = int(data["next_id"])
        self.envois = dict(data["envois"])


async def _form(request: Request) -> dict[str, str]:
    """The POST fields, multipart or url-encoded (PHP's $_POST reads both)."""
    form = await request.form(max_part_size=64 * 1024 * 1024)
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def _json_field(fields: dict[str, str], name: str) -> Any:
    try:
        return json.loads(fields[name])
    except (KeyError, ValueError):
        return None


class MerciFacteurSandbox:
    """The sandbox's application and its background work (the letters' lives, webhooks)."""

    def __init__(self, state: MerciFacteurState, event_hooks: EventHooks | None = None) -> None:
        self.state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._event_hooks = event_hooks or {}
        self.app = self._build_app()

    def _build_app(self) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            self._http = httpx.AsyncClient(timeout=10, event_hooks=self._event_hooks)
            for envoi_id, envoi in self.state.envois.items():
                if envoi["stage"] < 4:
                    self._spawn(self._live(envoi_id))
            try:
                yield
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                await self._http.aclose()

        app = FastAPI(title="Merci Facteur sandbox (recouvre)", lifespan=lifespan)
        api = APIRouter(prefix=SERVICE_PATH)
        api.add_api_route("/getToken", self.get_token, methods=["GET"])
        api.add_api_route("/getCountry", self.get_country, methods=["GET"])
        api.add_api_route("/sendCourrier", self.send_courrier, methods=["POST"])
        api.add_api_route("/listEnvois", self.list_envois, methods=["GET"])
        api.add_api_route("/getEnvoi", self.get_envoi, methods=["GET"])
        api.add_api_route("/getSuiviEnvoi", self.get_suivi_envoi, methods=["GET"])
        app.include_router(api)
        app.add_api_route("/_sandbox/webhooks", self.list_webhooks, methods=["GET"])
        return app

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- authentication ---------------------------------------------------------------

    async def get_token(self, request: Request) -> JSONResponse:
        credentials = self.state.credentials
        headers = request.headers
        if headers.get("ww-service-id") != credentials.service_id:
            return _fail("UNKNOWN_SERVICE_ID", 401)
        try:
            timestamp = int(headers.get("ww-timestamp", ""))
        except ValueError:
            return _fail("INVALID_TIMESTAMP", 400)
        if abs(time.time() - timestamp) > SIGNATURE_WINDOW_S:
            return _fail("EXPIRED_SIGNATURE", 401)
        expected = hmac.new(
            credentials.secret_key.encode(),
            f"{credentials.service_id}{timestamp}".encode(),
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(headers.get("ww-service-signature", ""), expected):
            return _fail("INVALID_SIGNATURE", 401)
        ips = [ip for ip in headers.get("ww-authorized-ip", "").split(";") if ip.strip()]
        now = time.time()
        for token, entry in self.state.tokens.items():
            if entry["expire"] > now:  # "if a token exists, getToken returns it"
                entry["ips"] = ips
                return _ok(token=token, expire=int(entry["expire"]))
        token = secrets.token_hex(24)
        self.state.tokens[token] = {"expire": now + TOKEN_LIFETIME_S, "ips": ips}
        return _ok(token=token, expire=int(now + TOKEN_LIFETIME_S))

    def _denied(self, request: Request) -> JSONResponse | None:
        if request.headers.get("ww-service-id") != self.state.credentials.service_id:
            return _fail("UNKNOWN_SERVICE_ID", 401)
        entry = self.state.tokens.get(request.headers.get("ww-access-token", ""))
        if entry is None or entry["expire"] <= time.time():
            return _fail("INVALID_TOKEN", 401)
        client = request.client.host if request.client else ""
        if entry["ips"] and client not in entry["ips"]:
            return _fail("IP_NOT_AUTHORIZED_FOR_TOKEN", 401)
        return None

    def forget_tokens(self) -> None:
        """Expire every token (as 24 h passing would)."""
        self.state.tokens.clear()

    # ---- countries --------------------------------------------------------------------

    async def get_country(self, request: Request) -> JSONResponse:
        denied = self._denied(request)
        if denied is not None:
            return denied
        zones = request.query_params.getlist("zone[]")
        if not zones or any(zone not in COUNTRIES for zone in zones):
            return _fail("ZONE_INVALID")
        return _ok(country=[name for zone in zones for name in COUNTRIES[zone]])

    # ---- sending ----------------------------------------------------------------------

    async def send_courrier(self, request: Request) -> JSONResponse:
        denied = self._denied(request)
        if denied is not None:
            return denied
        credentials = self.state.credentials
        fields = await _form(request)
        if fields.get("idUser") != str(credentials.user_id):
            return _fail("USER_UNKNOWN")
        mode = fields.get("modeEnvoi", "")
        if mode not in MODES:
            return _fail("MODE_ENVOI_INVALID")
        if mode not in PAPER_MODES:
            return _fail("MODE_ENVOI_NOT_SIMULATED")
        adress = _json_field(fields, "adress")
        if not isinstance(adress, dict):
            return _fail("ADRESS_INVALID")
        exp = adress.get("exp")
        if isinstance(exp, int) and not isinstance(exp, bool):
            if exp != credentials.sender_address_id:
                return _fail("EXP_UNKNOWN")
        else:
            problem = _address_problem(exp, recipient=False)
            if problem is not None:
                return _fail("EXP_" + problem)
        dests = adress.get("dest")
        if not isinstance(dests, list) or not dests:
            return _fail("DEST_REQUIRED")
        for dest in dests:
            if not isinstance(dest, dict):
                return _fail("DEST_ADDRESS_BOOK_NOT_SIMULATED")
            problem = _address_problem(dest, recipient=True)
            if problem is not None:
                return _fail("DEST_" + problem)
        content = _json_field(fields, "content")
        letter = content.get("letter") if isinstance(content, dict) else None
        if not isinstance(letter, dict):
            return _fail("CONTENT_LETTER_REQUIRED")
        if letter.get("files"):
            return _fail("CONTENT_FILES_URL_NOT_SIMULATED")
        encoded = letter.get("base64files")
        if not isinstance(encoded, list) or not 1 <= len(encoded) <= 10:
            return _fail("CONTENT_FILES_COUNT")
        pdfs: list[bytes] = []
        for item in encoded:
            try:
                pdf = base64.b64decode(str(item), validate=True)
            except (binascii.Error, ValueError):
                return _fail("CONTENT_FILE_NOT_BASE64")
            if not pdf.startswith(b"%PDF") or len(pdf) > 50 * 1024 * 1024:
                return _fail("CONTENT_FILE_NOT_PDF")
            pdfs.append(pdf)
        doublon = fields.get("antidoublon", "")
        if len(doublon) > 200:
            return _fail("ANTIDOUBLON_TOO_LONG")
        now = time.time()
        if doublon and any(
            e.get("antidoublon") == doublon and now - e["created"] < ANTIDOUBLON_WINDOW_S
            for e in self.state.envois.values()
        ):
            return _fail("ANTIDOUBLON_ALREADY_SENT")
        anonymize = _json_field(fields, "anonymize") if "anonymize" in fields else None
        if "anonymize" in fields and not (
            isinstance(anonymize, dict)
            and isinstance(anonymize.get("delay"), int)
            and 1 <= anonymize["delay"] <= 40
            and isinstance(anonymize.get("target"), list)
            and set(anonymize["target"]) <= {"content", "exp", "dest"}
        ):
            return _fail("ANONYMIZE_INVALID")
        rule = self.state.schedule.outcome_for or outcome_by_name
        outcomes = [rule(dest) for dest in dests]
        if "rejected" in outcomes:
            return _fail("DEST_REFUSED")
        self.state.next_id += 1
        envoi_id = str(self.state.next_id)
        pages = sum(_pages(pdf) for pdf in pdfs)
        courriers: list[dict[str, Any]] = [
            {
                "ref_courrier": f"{envoi_id}-{secrets.randbelow(10**9):09d}",
                "dest": {k: dest.get(k, "") for k in ADDRESS_FIELDS},
                "ref_interne": dest.get("reference") or "",
                "outcome": outcome,
                "tracking_number": None,
                "suivi": [],
            }
            for dest, outcome in zip(dests, outcomes, strict=True)
        ]
        postage = {"lrar": 6.1, "lrare": 6.9, "suivi": 2.2, "normal": 1.3}[mode] * len(dests)
        self.state.envois[envoi_id] = {
            "idEnvoi": int(envoi_id),
            "created": now,
            "stage": 0,
            "modeEnvoi": mode,
            "antidoublon": doublon,
            "nbPage": pages,
            "exp": exp,
            "final_filename": str(letter.get("final_filename") or "courrier.pdf"),
            "sha256": hashlib.sha256(pdfs[0]).hexdigest(),
            "amount": {"ht": round(postage + 0.9 * pages, 2), "affranchissement": postage},
            "courriers": courriers,
        }
        for courrier in courriers:
            self._status(envoi_id, courrier, "wait")
        self.state.save()
        self._spawn(self._live(envoi_id))
        total = self.state.envois[envoi_id]["amount"]["ht"]
        return _ok(
            envoi_id=int(envoi_id),
            price={
                "total": {"ht": total, "ttc": round(total * 1.2, 2)},
                "detail": {"affranchissement": postage},
            },
            resume={"nb_dest": len(dests), "nb_page": pages},
        )

    def _summary(self, envoi: dict[str, Any]) -> dict[str, Any]:
        return {
            "idEnvoi": envoi["idEnvoi"],
            "statut": "wait" if envoi["stage"] < 1 else "imprime",
            "nbPage": envoi["nbPage"],
            "nbDest": len(envoi["courriers"]),
            "modeEnvoi": envoi["modeEnvoi"],
            "date": int(envoi["created"]),
            "idExp": envoi["exp"] if isinstance(envoi["exp"], int) else None,
            "idDest": None,
            "amount": {
                "contenu": {
                    "ht": round(envoi["amount"]["ht"] - envoi["amount"]["affranchissement"], 2)
                },
                "affranchissement": envoi["amount"]["affranchissement"],
                "total": {"ht": envoi["amount"]["ht"]},
            },
        }

    def _envoi(self, request: Request) -> dict[str, Any] | JSONResponse:
        denied = self._denied(request)
        if denied is not None:
            return denied
        envoi = self.state.envois.get(request.query_params.get("idEnvoi", ""))
        if envoi is None:
            return _fail("ENVOI_NOT_FOUND")
        return envoi

    async def list_envois(self, request: Request) -> JSONResponse:
        denied = self._denied(request)
        if denied is not None:
            return denied
        if request.query_params.get("idUser") != str(self.state.credentials.user_id):
            return _fail("USER_UNKNOWN")
        latest = sorted(self.state.envois.values(), key=lambda e: -e["idEnvoi"])[:50]
        return _ok(envois=[self._summary(envoi) for envoi in latest])

    async def get_envoi(self, request: Request) -> JSONResponse:
        envoi = self._envoi(request)
        if isinstance(envoi, JSONResponse):
            return envoi
        summary = self._summary(envoi)
        return _ok(
            envoi={
                "general": summary,
                "idExp": summary["idExp"],
                "idDest": None,
                "detail": [
                    {"ref": c["ref_courrier"], "dest": c["dest"]} for c in envoi["courriers"]
                ],
            }
        )

    async def get_suivi_envoi(self, request: Request) -> JSONResponse:
        envoi = self._envoi(request)
        if isinstance(envoi, JSONResponse):
            return envoi
        entries = [entry for courrier in envoi["courriers"] for entry in courrier["suivi"]]
        return _ok(statutPrintEnvoi=self._summary(envoi)["statut"], suiviCourrier=entries)

    async def list_webhooks(self) -> JSONResponse:
        """Not Merci Facteur's: the webhooks sent, with their attempts (for tests, demos)."""
        return JSONResponse({"webhooks": self.state.webhooks})

    # ---- a letter's life --------------------------------------------------------------

    async def _live(self, envoi_id: str) -> None:
        """Move the sending along its schedule (resumable: each stage is recorded)."""
        schedule = self.state.schedule
        steps = (
            (schedule.print_after, self._print),
            (schedule.deposit_after, self._deposit),
            (schedule.present_after, self._present),
            (schedule.outcome_after, self._conclude),
        )
        envoi = self.state.envois[envoi_id]
        for number, (after, step) in enumerate(steps, start=1):
            if envoi["stage"] >= number:
                continue
            delay = envoi["created"] + after - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            step(envoi_id, envoi)
            envoi["stage"] = number
            self.state.save()

    def _print(self, envoi_id: str, envoi: dict[str, Any]) -> None:
        for courrier in envoi["courriers"]:
            courrier["tracking_number"] = f"2C{secrets.randbelow(10**9):09d}"
            self._status(envoi_id, courrier, "imprime")

    def _deposit(self, envoi_id: str, envoi: dict[str, Any]) -> None:
        for courrier in envoi["courriers"]:
            self._status(envoi_id, courrier, "pris_en_charge")
            if envoi["modeEnvoi"] in ("lrar", "lrare", "suivi"):
                self._status(envoi_id, courrier, "scan_pdd", pdd=self._deposit_pdf(envoi, courrier))

    def _present(self, envoi_id: str, envoi: dict[str, Any]) -> None:
        for courrier in envoi["courriers"]:
            code = "attente_au_guichet" if courrier["outcome"] == "not_collected" else None
            self._status(envoi_id, courrier, code or "distribution_en_cours")

    def _conclude(self, envoi_id: str, envoi: dict[str, Any]) -> None:
        lrare = envoi["modeEnvoi"] == "lrare"
        for courrier in envoi["courriers"]:
            outcome = courrier["outcome"]
            if outcome == "delivered":
                self._status(envoi_id, courrier, "distribue")
                if lrare:
                    self._status(envoi_id, courrier, "retour_are", are=self._ar_scan(courrier))
                continue
            if outcome == "wrong_address":
                self._status(envoi_id, courrier, "non_distribuable")
            self._status(envoi_id, courrier, "retour_expediteur", label=f"retour_{outcome}")
            self._status(envoi_id, courrier, "distribue_expediteur")
            if lrare:
                self._status(envoi_id, courrier, "archivage_pnd")

    def _status(
        self,
        envoi_id: str,
        courrier: dict[str, Any],
        code: str,
        *,
        label: str | None = None,
        pdd: bytes | None = None,
        are: bytes | None = None,
    ) -> None:
        envoi = self.state.envois[envoi_id]
        entry: dict[str, Any] = {
            "ref_courrier": courrier["ref_courrier"],
            "mode_envoi": envoi["modeEnvoi"],
            "id_envoi": envoi_id,
            "statut_courrier": code,
            "statut_description": _today_label(label or code),
            "tracking_number": courrier["tracking_number"],
            "ref_interne": courrier["ref_interne"],
        }
        courrier["suivi"].append(entry)
        detail: dict[str, Any] = {**courrier["dest"], **entry}
        if code == "wait":
            del detail["tracking_number"]  # event "new" carries none
        if pdd is not None:
            detail["pdd_base64_pdf"] = base64.b64encode(pdd).decode()
        if are is not None:
            detail["are_base64_jpeg"] = base64.b64encode(are).decode()
        self._webhook(EVENT_OF[code], [detail])

    # ---- proofs -----------------------------------------------------------------------

    def _maileva_like(self, envoi: dict[str, Any], courrier: dict[str, Any]) -> dict[str, Any]:
        dest = courrier["dest"]
        return {
            "address_line_1": dest.get("societe") or "",
            "address_line_2": " ".join(p for p in (dest.get("prenom"), dest.get("nom")) if p),
            "address_line_4": dest.get("adresse1") or "",
            "address_line_5": dest.get("adresse2") or "",
            "address_line_6": f"{dest.get('cp', '')} {dest.get('ville', '')}".strip(),
            "registered_number": courrier["tracking_number"] or "",
            "deposit_proof_date": _iso(time.time()),
        }

    def _deposit_pdf(self, envoi: dict[str, Any], courrier: dict[str, Any]) -> bytes:
        sending = {"id": envoi["idEnvoi"], "name": envoi["final_filename"]}
        return deposit_proof_pdf(sending, self._maileva_like(envoi, courrier), envoi["sha256"])

    def _ar_scan(self, courrier: dict[str, Any]) -> bytes:
        """The scanned signed AR, as a JPEG (the field is named ``are_base64_jpeg``)."""
        image = Image.new("RGB", (900, 420), "white")
        draw = ImageDraw.Draw(image)
        dest = courrier["dest"]
        lines = [
            "AVIS DE RÉCEPTION (numérisé)",
            NOTICE,
            f"Recommandé n° {courrier['tracking_number']}",
            f"Référence : {courrier['ref_interne']}",
            f"Distribué le {datetime.now(PARIS):%d/%m/%Y}",
            f"Signature : {dest.get('societe') or dest.get('nom') or ''}",
        ]
        for number, text in enumerate(lines):
            draw.text((30, 30 + 55 * number), text, fill="black")
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
        return out.getvalue()

    # ---- webhooks ---------------------------------------------------------------------

    def _webhook(self, name_event: str, details: list[dict[str, Any]]) -> None:
        if not self.state.webhook_url:
            return
        body = {
            "event": {
                "name_event": name_event,
                "id_user": self.state.credentials.user_id,
                "date_event": int(time.time()),
            },
            "detail": details,
        }
        record: dict[str, Any] = {
            "url": self.state.webhook_url,
            "event": body["event"],
            "refs": [d["ref_courrier"] for d in details],
            "statuses": [d["statut_courrier"] for d in details],
            "attempts": [],
            "delivered": False,
        }
        self.state.webhooks.append(record)
        self._spawn(self._deliver(record, body))

    async def _deliver(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        assert self._http is not None
        form = urlencode(
            {
                "event": json.dumps(body["event"]),
                "detail": json.dumps(body["detail"], ensure_ascii=False),
            }
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            WEBHOOK_SECRET_HEADER: self.state.webhook_secret,
        }
        delays = (0.0, *self.state.schedule.webhook_retry_delays[:2])
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                await asyncio.sleep(delay)
            outcome: Any
            try:
                response = await self._http.post(record["url"], content=form, headers=headers)
                outcome = response.status_code
            except httpx.HTTPError as err:
                outcome = f"{type(err).__name__}: {err}"
            record["attempts"].append({"at": _iso(time.time()), "result": outcome})
            if outcome == 200:
                record["delivered"] = True
                return
            log.info("webhook %s attempt %d: %s", record["event"]["name_event"], attempt, outcome)
        record["abandoned"] = True


# ---- running it -----------------------------------------------------------------------------


@dataclass
class MerciFacteurSandboxHandle:
    """A running sandbox: ``url`` is the service base (``.../api/1.2/prod/service``);
    ``stop()`` ends it (idempotent)."""

    url: str
    credentials: MerciFacteurCredentials
    webhook_secret: str
    sandbox: MerciFacteurSandbox
    _server: uvicorn.Server
    _thread: threading.Thread

    def settings(self, **overrides: Any) -> MerciFacteurSettings:
        """Client settings pointing at this sandbox (token bound to 127.0.0.1)."""
        c = self.credentials
        values: dict[str, Any] = {
            "base_url": self.url,
            "service_id": c.service_id,
            "secret_key": c.secret_key,
            "user_id": c.user_id,
            "authorized_ips": "127.0.0.1",
            "webhook_secret": self.webhook_secret,
            **overrides,
        }
        return MerciFacteurSettings(**values)

    def set_webhook_url(self, url: str | None) -> None:
        """The account's endpoint URL (none: no webhook), as set in the API tab."""
        self.sandbox.state.webhook_url = url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_sandbox_merci_facteur(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    webhook_secret: str = "",
    schedule: MerciFacteurSchedule | None = None,
    *,
    credentials: MerciFacteurCredentials | None = None,
    state_dir: Path | None = None,
    event_hooks: EventHooks | None = None,
    startup_timeout_s: float = 10.0,
) -> MerciFacteurSandboxHandle:
    """Start the sandbox on ``port`` (0: a free one) under uvicorn in a daemon thread; return
    once it accepts connections. ``webhook_url`` is the account's endpoint, called with
    ``webhook_secret`` in ``X-Mf-Webhook-Secret-Key``; ``event_hooks`` go to the httpx client
    the webhooks leave with (to record them, as tests/contracts does)."""
    state = MerciFacteurState(
        credentials=credentials or MerciFacteurCredentials(),
        schedule=schedule or MerciFacteurSchedule(),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        state_dir=state_dir,
    )
    state.load()
    sandbox = MerciFacteurSandbox(state, event_hooks)
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), name="merci-facteur-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the Merci Facteur sandbox did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return MerciFacteurSandboxHandle(
        f"http://{host}:{bound}{SERVICE_PATH}",
        state.credentials,
        webhook_secret,
        sandbox,
        server,
        thread,
    )
