"""Request dependencies: the database, Temporal, and who is calling."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from legal import RateTable
from services.api.errors import ApiError, field_error
from services.api.keys import Principal, Role
from services.config import Settings
from services.debtor_keys import debtor_vault
from storage.debtor_vault import DebtorVault


@dataclass
class Runtime:
    """What the app holds for its lifetime (built by the lifespan in app.py)."""

    settings: Settings
    engine: AsyncEngine
    temporal: Client
    keys: dict[str, Principal]
    rates: RateTable
    tenant_policies: dict[tuple[str, str], str] = field(default_factory=dict)
    tenant_sirens: dict[str, str] = field(default_factory=dict)
    """Each tenant's SIREN (RECOUVRE_TENANT_SIRENS): an e-invoice's seller is checked
    against it."""
    vault: DebtorVault | None = None
    """The debtors' identities (storage/debtor_vault.py); built from the settings when
    not given."""
    read_engine: AsyncEngine | None = None
    """A pool of its own for case reads, so they never queue behind intake transactions
    (each holds its connection while Temporal starts the workflow); default ``engine``."""

    def __post_init__(self) -> None:
        if self.vault is None:
            self.vault = debtor_vault(self.settings)

    @property
    def debtors(self) -> DebtorVault:
        assert self.vault is not None  # set by __post_init__
        return self.vault

    @property
    def reads(self) -> AsyncEngine:
        return self.read_engine or self.engine


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <api key>")


def _principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(
            401, "unauthorized", "missing Authorization: Bearer <api key>", headers=challenge
        )
    found = None
    for key, principal in runtime.keys.items():  # constant time per key
        if hmac.compare_digest(key.encode(), credentials.credentials.encode()):
            found = principal
    if found is None:
        raise ApiError(401, "unauthorized", "unknown API key", headers=challenge)
    return found


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting only the given roles (403 for the others)."""
    allowed = ", ".join(r.value for r in roles)

    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in roles:
            raise ApiError(
                403, "forbidden", f"role {principal.role.value!r} may not do this; needs {allowed}"
            )
        return principal

    return check


ErpPrincipal = Annotated[Principal, Depends(require(Role.erp))]
ReaderPrincipal = Annotated[Principal, Depends(require(Role.operator, Role.auditor))]
PayerPrincipal = Annotated[Principal, Depends(require(Role.erp, Role.operator))]
OperatorPrincipal = Annotated[Principal, Depends(require(Role.operator))]

Reported = TypeVar("Reported", bound=BaseModel)


def attributed(event: Reported, principal: Principal) -> Reported:
    """``event`` with ``by`` set to the caller's actor id. Who did it comes from the key,
    never from the body: a body naming ``by`` (even null) is refused (422)."""
    if "by" in event.model_fields_set:
        raise field_error("by", "is set from your API key; do not send it")
    return event.model_copy(update={"by": principal.actor})
