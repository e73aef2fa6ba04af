"""The mail API's published document next to the others of ``openapi_traffic.Contract``.

``MailContract`` is a ``Contract`` that also knows Maileva's "mail" v2.9 document, served under
``<api_url>/mail/v2``; exchanges with the token endpoint are still checked against the
authentication document. The mail document is read as YAML 1.2 (only ``true`` and ``false``
are booleans): read as YAML 1.1, its unquoted country code ``NO`` (Norway) would become
``False`` and a letter to Norway would look undocumented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from openapi_core import OpenAPI

from tests.contracts.openapi_traffic import SPECS, Contract, Exchange

MAIL = SPECS / "api-mail-v2-9b.yaml"
MAIL_PATH = "/mail/v2"
_BOOL = "tag:yaml.org,2002:bool"


class Yaml12Loader(yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's safe loader with YAML 1.2's booleans: ``true``/``false`` only."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def load_yaml12(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = _string_keys(
        yaml.load(path.read_text(encoding="utf-8"), Loader=Yaml12Loader)
    )
    return loaded


def mail_document(server: str) -> dict[str, Any]:
    spec = load_yaml12(MAIL)
    spec["servers"] = [{"url": server}]
    return spec


@dataclass
class MailContract(Contract):
    """``Contract`` plus the mail document (``callback_url`` is unused by the mail API)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.documents["mail"] = OpenAPI.from_dict(mail_document(self.api_url + MAIL_PATH))

    def document_of(self, exchange: Exchange) -> str | None:
        if exchange.url.startswith(self.api_url + MAIL_PATH + "/"):
            return "mail"
        return super().document_of(exchange)
