"""The codec endpoint: Temporal's codec server protocol over recouvre's payload keys.

``POST /v1/codec/decode`` and ``POST /v1/codec/encode`` take and answer
``{"payloads": [{"metadata": {name: base64}, "data": base64}]}`` (Temporal's Payloads in
protobuf JSON), run through the same codec as the API's Temporal client: what
``temporal workflow show --codec-endpoint http://host:8000/v1/codec --codec-auth "Bearer
KEY"`` and the Temporal UI (Settings, Codec Server) call to show encrypted histories in the
clear (docs/data-protection.md).

It decrypts personal data, so it takes an API key: decode for operators and auditors,
encode (which the UI uses to send signals or start workflows) for operators only. A
browser cannot add an Authorization header to the UI's requests, so a key can also open a
session: ``/v1/codec/session`` (a page, or ``POST`` with the key) sets an HttpOnly cookie,
scoped to /v1/codec and signed with that key (revoking the key ends its sessions), that
the UI sends when "Include cross-origin credentials" is on. CORS admits the Temporal UI's
origins only (RECOUVRE_CODEC_CORS_ORIGINS). Every call is logged with the caller's actor id
and the number of payloads, never their content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from services.api.deps import Runtime, RuntimeDep
from services.api.errors import ApiError, ErrorResponse
from services.api.keys import Principal, Role
from services.payload_codec import PayloadDecryptionError

log = logging.getLogger("recouvre.codec")

PREFIX = "/v1/codec"
MAX_PAYLOADS = 1000
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_DATA_CHARS = 4 * 1024 * 1024 * 4 // 3 + 4
"""base64 of a 4 MiB payload: Temporal refuses larger blobs by default."""
SESSION_COOKIE = "recouvre_codec"
SESSION_S = 8 * 3600
"""How long a codec session opened with a key lasts (the cookie's Max-Age)."""
DECODERS = (Role.operator, Role.auditor)
ENCODERS = (Role.operator,)
NO_STORE = {"Cache-Control": "no-store"}


class CodecPayload(BaseModel):
    """One Temporal Payload in protobuf JSON: metadata values and data in base64."""

    metadata: dict[
        Annotated[str, Field(max_length=256)], Annotated[str, Field(max_length=4096)]
    ] = Field(default_factory=dict, max_length=64)
    data: str = Field(
        default="",
        max_length=MAX_DATA_CHARS,
        description="base64; at most a 4 MiB payload (Temporal's default blob size limit)",
    )


class CodecPayloads(BaseModel):
    """Temporal's Payloads message in protobuf JSON."""

    payloads: list[CodecPayload] = Field(max_length=MAX_PAYLOADS)


class CodecSession(BaseModel):
    actor: str
    expires_at: int
    """Unix time at which the session's cookie stops being accepted."""


def _b64decode(text: str, where: str) -> bytes:
    compact = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ApiError(
            422,
            "validation_error",
            f"{where}: not base64",
            [{"field": where, "message": "not base64"}],
        ) from err


def _to_proto(payloads: CodecPayloads) -> list[Payload]:
    decoded = []
    for n, item in enumerate(payloads.payloads):
        metadata = {
            name: _b64decode(value, f"payloads.{n}.metadata.{name}")
            for name, value in item.metadata.items()
        }
        data = _b64decode(item.data, f"payloads.{n}.data")
        try:
            decoded.append(Payload(metadata=metadata, data=data))
        except (UnicodeError, ValueError) as err:  # e.g. a lone surrogate in a name
            where = f"payloads.{n}.metadata"
            raise ApiError(
                422,
                "validation_error",
                f"{where}: names must be valid UTF-8",
                [{"field": where, "message": "names must be valid UTF-8"}],
            ) from err
    return decoded


def _from_proto(payloads: list[Payload]) -> CodecPayloads:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return CodecPayloads(
        payloads=[
            CodecPayload(
                metadata={name: b64(value) for name, value in p.metadata.items()},
                data=b64(p.data),
            )
            for p in payloads
        ]
    )


def _cors_headers(request: Request) -> dict[str, str]:
    """CORS headers for a browser call from one of the Temporal UI's origins (none else)."""
    origin = request.headers.get("origin", "").rstrip("/")
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if not origin or runtime is None or origin not in runtime.settings.codec_origins:
        return {}
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }
    if request.method == "OPTIONS":
        headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Namespace"
        headers["Access-Control-Max-Age"] = "600"
        if request.headers.get("access-control-request-private-network") == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
    return headers


class _CorsRoute(APIRoute):
    """Every answer of this router, errors included, carries the CORS headers, so the UI
    sees a 401 as a 401 rather than as a network failure."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            headers = _cors_headers(request)
            try:
                response = await handle(request)
            except ApiError as err:
                err.headers.update(headers)
                raise
            response.headers.update(headers)
            return response

        return with_cors


router = APIRouter(tags=["codec"], route_class=_CorsRoute)
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key>")
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 413, 422)
}


def _session_mac(key: str, key_id: str, expires: int) -> str:
    message = f"recouvre-codec-session:{key_id}:{expires}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _session_token(key: str, principal: Principal, expires: int) -> str:
    return f"{principal.key_id}.{expires}.{_session_mac(key, principal.key_id, expires)}"


def _session_principal(keys: Mapping[str, Principal], token: str) -> Principal | None:
    """The principal of a valid, unexpired session cookie (None otherwise)."""
    key_id, _, rest = token.partition(".")
    expires_text, _, mac = rest.partition(".")
    if not (key_id and expires_text.isdigit() and mac):
        return None
    expires = int(expires_text)
    if expires < time.time():
        return None
    found = None
    for key, principal in keys.items():  # constant time per key of that id
        if principal.key_id == key_id and hmac.compare_digest(
            _session_mac(key, key_id, expires).encode(), mac.encode()
        ):
            found = principal
    return found


def _key_principal(keys: Mapping[str, Principal], token: str) -> tuple[str, Principal] | None:
    found = None
    for key, principal in keys.items():  # constant time per key
        if hmac.compare_digest(key.encode(), token.encode()):
            found = (key, principal)
    return found


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _caller(request: Request, runtime: Runtime, credentials: Credentials) -> Principal:
    """Who calls: the Bearer API key, else a codec session cookie; 401 otherwise."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is not None:
        found = _key_principal(runtime.keys, credentials.credentials)
        if found is None:
            raise ApiError(401, "unauthorized", "unknown API key", headers=challenge)
        return found[1]
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal = _session_principal(runtime.keys, cookie)
        if principal is None:
            raise ApiError(
                401,
                "unauthorized",
                f"the codec session has expired or its key was revoked: open {PREFIX}/session",
                headers=challenge,
            )
        return principal
    raise ApiError(
        401,
        "unauthorized",
        f"missing Authorization: Bearer <api key> (or a codec session, see {PREFIX}/session)",
        headers=challenge,
    )


def _allowed(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    if principal.role not in roles:
        needs = ", ".join(r.value for r in roles)
        raise ApiError(
            403, "forbidden", f"role {principal.role.value!r} may not do this; needs {needs}"
        )
    return principal


def _decoder(request: Request, runtime: RuntimeDep, credentials: Credentials) -> Principal:
    return _allowed(_caller(request, runtime, credentials), DECODERS)


def _encoder(request: Request, runtime: RuntimeDep, credentials: Credentials) -> Principal:
    return _allowed(_caller(request, runtime, credentials), ENCODERS)


def _check_size(request: Request) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"at most {MAX_BODY_BYTES} bytes of payloads per call")


class _Identity(PayloadCodec):
    """What the API writes when payload encryption is off: payloads as they are."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def _codec(runtime: Runtime) -> PayloadCodec:
    """The API's own codec: the endpoint decodes exactly what the service encrypts."""
    return runtime.temporal.data_converter.payload_codec or _Identity()


@router.options(f"{PREFIX}/{{action}}", include_in_schema=False)
async def preflight(action: str) -> Response:
    """CORS preflight of the Temporal UI (the headers come from the route class)."""
    return Response(status_code=204)


@router.post(
    f"{PREFIX}/decode",
    operation_id="codecDecode",
    responses=RESPONSES,
)
async def decode(
    body: CodecPayloads,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_decoder)],
) -> CodecPayloads:
    """Decrypt payloads (Temporal's codec server protocol); payloads that are not
    encrypted come back unchanged. Operators and auditors."""
    _check_size(request)
    try:
        decoded = await _codec(runtime).decode(_to_proto(body))
    except PayloadDecryptionError as err:
        raise ApiError(422, "payload_undecryptable", str(err)) from err
    log.info(
        "codec decode: %d payloads for %s (namespace %s)",
        len(decoded),
        principal.actor,
        request.headers.get("x-namespace", "-"),
    )
    response.headers.update(NO_STORE)
    return _from_proto(decoded)


@router.post(
    f"{PREFIX}/encode",
    operation_id="codecEncode",
    responses=RESPONSES,
)
async def encode(
    body: CodecPayloads,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(_encoder)],
) -> CodecPayloads:
    """Encrypt payloads with the key that encrypts new payloads (Temporal's codec server
    protocol), as the service itself would. Operators only."""
    _check_size(request)
    encoded = await _codec(runtime).encode(_to_proto(body))
    log.info("codec encode: %d payloads for %s", len(encoded), principal.actor)
    response.headers.update(NO_STORE)
    return _from_proto(encoded)


@router.post(
    f"{PREFIX}/session",
    operation_id="codecOpenSession",
    responses={code: {"model": ErrorResponse} for code in (401, 403)},
)
async def open_session(
    request: Request, response: Response, runtime: RuntimeDep, credentials: Credentials
) -> CodecSession:
    """Open a codec session for this browser with an operator or auditor key (Bearer):
    an HttpOnly cookie, scoped to /v1/codec, that the Temporal UI sends to the codec
    endpoint when "Include cross-origin credentials" is on."""
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "missing Authorization: Bearer <api key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = _key_principal(runtime.keys, credentials.credentials)
    if found is None:
        raise ApiError(
            401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    key, principal = found
    _allowed(principal, DECODERS)
    expires = int(time.time()) + SESSION_S
    response.set_cookie(
        SESSION_COOKIE,
        _session_token(key, principal, expires),
        max_age=SESSION_S,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers.update(NO_STORE)
    log.info("codec session opened for %s", principal.actor)
    return CodecSession(actor=principal.actor, expires_at=expires)


@router.delete(f"{PREFIX}/session", operation_id="codecCloseSession", status_code=204)
async def close_session() -> Response:
    """Forget this browser's codec session."""
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response


_SESSION_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recouvre codec session</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>recouvre: decode payloads in the Temporal UI</h1>
<p>Paste an operator or auditor API key: this browser then holds a codec session for
8 hours (an HttpOnly cookie for this server's <code>/v1/codec</code>). In the Temporal UI,
set the codec server endpoint to <code id="endpoint"></code> and turn
<em>Include cross-origin credentials</em> on (and <em>Pass access token</em> off). Open the
UI on the same host name as this page (127.0.0.1 with 127.0.0.1).</p>
<form id="open"><input id="key" type="password" size="40" autocomplete="off"
 placeholder="API key"> <button>Open the session</button></form>
<p><button id="close">Close the session</button></p>
<p id="status" role="status"></p>
<script>
const here = location.origin + location.pathname.replace(/\\/session$/, "");
document.getElementById("endpoint").textContent = here;
const status = document.getElementById("status");
document.getElementById("open").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = document.getElementById("key").value.trim();
  const answer = await fetch(location.pathname, {
    method: "POST", headers: {Authorization: "Bearer " + key}, credentials: "same-origin"});
  const body = await answer.json();
  status.textContent = answer.ok
    ? "Session open for " + body.actor + " until " + new Date(body.expires_at * 1000)
    : "Refused: " + body.error.message;
  document.getElementById("key").value = "";
});
document.getElementById("close").addEventListener("click", async () => {
  await fetch(location.pathname, {method: "DELETE", credentials: "same-origin"});
  status.textContent = "Session closed.";
});
</script>
</body></html>
"""


@router.get(f"{PREFIX}/session", include_in_schema=False)
async def session_page() -> HTMLResponse:
    """A page to open (or close) a codec session in this browser."""
    return HTMLResponse(
        _SESSION_PAGE,
        headers={
            **NO_STORE,
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'",
            "X-Frame-Options": "DENY",
        },
    )
