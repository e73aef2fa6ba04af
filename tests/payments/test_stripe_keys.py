"""RECOUVRE_STRIPE_KEYS: each tenant's secret key and webhook signing secret."""

from __future__ import annotations

import pytest

from services.api.stripe_keys import StripeKeys, parse_stripe_keys


def test_each_tenant_has_its_keys() -> None:
    keys = parse_stripe_keys("acme=sk_test_1|whsec_a, beta=rk_live_2|whsec_b,")
    assert keys == {
        "acme": StripeKeys("sk_test_1", "whsec_a"),
        "beta": StripeKeys("rk_live_2", "whsec_b"),
    }
    assert parse_stripe_keys("") == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("acme=sk_test_1", "is not tenant=secret_key|webhook_secret", id="no-pair"),
        pytest.param("sk_test_1|whsec_a", "is not tenant=secret_key", id="no-tenant"),
        pytest.param("=sk_test_1|whsec_a", "is not a tenant name", id="empty-tenant"),
        pytest.param("acme=pk_test_1|whsec_a", "must start sk_ or rk_", id="publishable-key"),
        pytest.param("acme=sk_test_1|sk_test_2", "must start whsec_", id="no-whsec"),
        pytest.param("acme=sk_test_1|whsec_a,acme=sk_test_2|whsec_b", "given twice", id="twice"),
    ],
)
def test_a_bad_entry_is_named_without_its_secrets(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="RECOUVRE_STRIPE_KEYS") as raised:
        parse_stripe_keys(spec)
    assert message in str(raised.value)
    assert "sk_test_1" not in str(raised.value) and "whsec_a" not in str(raised.value)


def test_keys_never_show_in_their_repr() -> None:
    assert "whsec_secret" not in repr(StripeKeys("sk_test_0123456789", "whsec_secret"))
