"""A tenant must not reach recouvre's own network through a webhook URL (the delivery
log would show it the answers): without RECOUVRE_WEBHOOK_PRIVATE_TARGETS, a subscription
to a private or loopback address is refused, and a delivery whose host resolves to one
is not made. The session's service allows them (its receivers listen on 127.0.0.1)."""

from __future__ import annotations

import pytest

from outbound.erp_webhooks.targets import literal_private, refused_target
from services.api.app import create_app
from tests.support.service import Service
from tests.support.serving import serve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/hook",
        "http://localhost:8000/v1/admin",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "https://192.168.1.20/hook",
    ],
)
def test_private_addresses_are_recognised_as_such(url: str) -> None:
    assert literal_private(url)


def test_public_addresses_and_names_are_left_to_the_delivery() -> None:
    assert not literal_private("https://93.184.215.14/hook")
    assert not literal_private("https://erp.example.fr/hooks/recouvre")


async def test_a_name_resolving_to_loopback_is_refused_at_delivery() -> None:
    why = await refused_target("http://localhost:9/hook")  # /etc/hosts: no network needed
    assert why is not None and "non-public address" in why, why
    assert await refused_target("https://93.184.215.14/hook") is None  # a literal: no DNS


async def test_a_subscription_to_a_private_address_is_refused_naming_the_field(
    service: Service,
) -> None:
    strict = service.settings.model_copy(update={"webhook_private_targets": False})
    async with (
        serve(create_app(strict)) as base_url,
        Service(base_url, strict, service.dev_env).client("erp") as erp,
    ):
        refused = await erp.post(
            "/v1/webhooks/subscriptions", json={"url": "http://169.254.169.254/latest/"}
        )
        allowed = await erp.post(
            "/v1/webhooks/subscriptions", json={"url": "https://erp.example.fr/hooks"}
        )
        if allowed.status_code == 201:  # no deliveries to it from the later tests
            subscription = allowed.json()["subscription_id"]
            await erp.delete(f"/v1/webhooks/subscriptions/{subscription}")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "url"
    assert allowed.status_code == 201, allowed.text
