"""Console sessions: a signed, HttpOnly, SameSite=Strict cookie with an expiry, and the
CSRF token every form carries.

The cookie holds no key: only a random nonce, the signed-in key's id (``key_id``, not
secret) and when it was issued, signed with itsdangerous. A visitor who has not signed in
gets a session too (no key id), so the sign-in form has its CSRF token as well. Signing in
or out starts a new session (new nonce: a token seen before sign-in is worthless after).
The CSRF token is an HMAC of the nonce (synchronizer token, never stored server-side);
SameSite=Strict is a second line. The signing secret is RECOUVRE_CONSOLE_SECRET if set,
else derived from the API key spec, so every API process of a deployment agrees and
rotating the keys ends every session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.api.keys import Principal

COOKIE = "recouvre_session"
SESSION_S = 8 * 3600
"""A session lasts a working day; the cookie's Max-Age and the signature's age agree."""
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class ConsoleSession:
    nonce: str
    key_id: str | None = None
    issued: int = 0

    @classmethod
    def fresh(cls, key_id: str | None = None) -> ConsoleSession:
        return cls(nonce=secrets.token_urlsafe(18), key_id=key_id, issued=int(time.time()))


class Sessions:
    """Signs and reads session cookies; computes and checks CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializer = URLSafeTimedSerializer(secret, salt="recouvre-console-session")

    @classmethod
    def for_keys(cls, api_keys: str) -> Sessions:
        explicit = os.environ.get("RECOUVRE_CONSOLE_SECRET", "")
        if explicit:
            return cls(explicit.encode())
        return cls(hashlib.sha256(b"recouvre-console-session\0" + api_keys.encode()).digest())

    def read(self, request: Request) -> ConsoleSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=SESSION_S)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None
        key = data.get("k")
        issued = data.get("t")
        return ConsoleSession(
            nonce=data["n"],
            key_id=key if isinstance(key, str) else None,
            issued=issued if isinstance(issued, int) else 0,
        )

    def write(self, request: Request, response: Response, session: ConsoleSession) -> None:
        value = self._serializer.dumps(
            {"n": session.nonce, "k": session.key_id, "t": session.issued}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")

    def csrf_token(self, session: ConsoleSession) -> str:
        return hmac.new(self._secret, b"csrf\0" + session.nonce.encode(), "sha256").hexdigest()

    def csrf_ok(self, session: ConsoleSession | None, token: object) -> bool:
        if session is None or not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)


def principal_of(keys: dict[str, Principal], session: ConsoleSession | None) -> Principal | None:
    """The signed-in key's principal, if the key still exists (a removed key signs out)."""
    if session is None or session.key_id is None:
        return None
    for principal in keys.values():
        if principal.key_id == session.key_id:
            return principal
    return None


def find_key(keys: dict[str, Principal], given: str) -> Principal | None:
    """The principal of an API key typed in the sign-in form, compared in constant time per
    key (as the API's Bearer check does)."""
    found = None
    for key, principal in keys.items():
        if hmac.compare_digest(key.encode(), given.encode()):
            found = principal
    return found
