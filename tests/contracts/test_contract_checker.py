"""The contract check itself refuses what drifted from Maileva's documents (so a passing
contract test means something)."""

from __future__ import annotations

import json

from tests.contracts.openapi_traffic import Contract, Exchange

API = "http://127.0.0.1:1"
TOKEN = "http://127.0.0.1:2/auth/realms/services/protocol/openid-connect/token"
CALLBACK = "http://127.0.0.1:3/v1/webhooks/registered-mail"


def exchange(
    method: str, url: str, body: object = None, status: int = 200, answer: object = None
) -> Exchange:
    return Exchange(
        method=method,
        url=url,
        request_headers={"content-type": "application/json", "authorization": "Bearer t"},
        request_body=json.dumps(body).encode() if body is not None else b"",
        status=status,
        response_headers={"content-type": "application/json"},
        response_body=json.dumps(answer).encode() if answer is not None else b"",
        by="client",
    )


def test_the_old_44_character_custom_ids_are_refused() -> None:
    contract = Contract(API, TOKEN, CALLBACK)
    old = "rcv-" + "0" * 40
    sending = exchange(
        "POST", f"{API}/registered_mail/v4/sendings", {"name": "n", "custom_id": old}, 201, {}
    )
    recipient = exchange(
        "POST",
        f"{API}/registered_mail/v4/sendings/s/recipients",
        {"custom_id": old[:37], "address_line_6": "75002 Paris", "country_code": "FR"},
        201,
        {"id": "r", "address_line_6": "75002 Paris", "country_code": "FR", "status": "DRAFT"},
    )
    assert any("too long" in p for p in contract.problems(sending))
    assert any("too long" in p for p in contract.problems(recipient))


def test_a_response_without_its_required_fields_is_refused() -> None:
    contract = Contract(API, TOKEN, CALLBACK)
    listing = exchange(
        "GET",
        f"{API}/registered_mail/v4/sendings/s/recipients",
        answer={"recipients": [{"id": "r"}], "paging": {}},
    )
    assert any("'status' is a required property" in p for p in contract.problems(listing))


def test_a_callback_outside_the_documented_events_is_refused() -> None:
    contract = Contract(API, TOKEN, CALLBACK)
    callback = exchange("POST", CALLBACK, {"event_type": "ON_SOMETHING_ELSE"}, 201)
    assert any("is not one of" in p for p in contract.problems(callback))
