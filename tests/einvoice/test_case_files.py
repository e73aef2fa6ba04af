"""What intake keeps of an e-invoice, on the real stack: the file as received (sealed with
the debtor's data key) once per SHA-256, in the evidence dossier with its hash; a credit
note posted twice credits once; the seller (BT-30) checked against the tenant's SIREN."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.app import create_app
from services.api.routers.invoices import parse_tenant_sirens
from services.audit.case_records import case_file_records
from services.debtor_keys import debtor_vault
from storage.tables import case_files, cases
from tests.einvoice.documents import SELLER_SIREN, Buyer, Doc, cii, facturx_pdf, ubl
from tests.support.schema import schema_differences
from tests.support.service import Service
from tests.support.serving import serve

pytestmark = pytest.mark.e2e

PDF = {"Content-Type": "application/pdf"}
XML = {"Content-Type": "application/xml"}


def _siren() -> str:
    """A random SIREN with a valid Luhn check digit."""
    body = [random.randrange(10) for _ in range(8)]
    total = 0
    for index, digit in enumerate(reversed(body)):  # the check digit will be rightmost
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, body)) + str(-total % 10)


def _own_buyer() -> Buyer:
    """A debtor no other test shares (so erasing it touches nobody else's case)."""
    siren = _siren()
    return Buyer(name=f"Erasable {siren} SARL", legal_id=siren, buyer_id=f"CUST-{siren}")


async def _post(
    service: Service, content: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with service.client("erp") as erp:
        response = await erp.post("/v1/invoices", content=content, headers=headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def _rows(engine: AsyncEngine, case_id: str) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                select(case_files)
                .where(case_files.c.case_id == case_id)
                .order_by(case_files.c.received_at)
            )
        )


async def _dossier(service: Service, case_id: str) -> zipfile.ZipFile:
    async with service.client("auditor") as auditor:
        response = await auditor.get(f"/v1/cases/{case_id}/dossier")
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


async def test_the_original_is_kept_once_with_its_hash_and_is_in_the_dossier(
    service: Service, engine: AsyncEngine
) -> None:
    invoice = Doc()
    pdf = facturx_pdf(invoice)
    digest = hashlib.sha256(pdf).hexdigest()
    status, created = await _post(service, pdf, PDF)
    assert status == 201, created
    status, again = await _post(service, pdf, PDF)
    assert status == 200, again

    rows = await _rows(engine, created["case_id"])
    assert [(r.sha256, r.kind, r.media_type, r.size) for r in rows] == [
        (digest, "einvoice", "application/pdf", len(pdf))
    ], "the same file posted twice is kept once"
    assert rows[0].debtor_id is not None
    assert bytes(rows[0].content) != pdf, "the buyer's identity is stored sealed"

    archive = await _dossier(service, created["case_id"])
    kept = [name for name in archive.namelist() if name.startswith("files/")]
    assert kept == [f"files/01-einvoice-{digest[:12]}.pdf"]
    assert archive.read(kept[0]) == pdf
    manifest = json.loads(archive.read("manifest.json"))
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    assert listed[kept[0]] == digest
    assert [(f["kind"], f["sha256"], f["path"]) for f in manifest["case_files"]] == [
        ("einvoice", digest, kept[0])
    ]


async def test_an_erased_debtors_file_can_no_longer_be_read(
    service: Service, engine: AsyncEngine
) -> None:
    invoice = Doc(buyer=_own_buyer())
    xml = ubl(invoice)
    digest = hashlib.sha256(xml).hexdigest()
    status, created = await _post(service, xml, XML)
    assert status == 201, created
    case_id = created["case_id"]
    vault = debtor_vault(service.settings)
    assert [f.content for f in await case_file_records(engine, "acme", case_id, vault)] == [xml]

    async with engine.begin() as conn:
        invoice_row = (
            await conn.execute(select(cases.c.invoice).where(cases.c.case_id == case_id))
        ).scalar_one()
        await vault.erase(conn, "acme", invoice_row["debtor"]["debtor_id"], "test: erased")

    records = await case_file_records(engine, "acme", case_id, vault)
    assert [(f.sha256, f.content) for f in records] == [(digest, None)]
    (row,) = await _rows(engine, case_id)
    assert invoice.buyer.name.encode() not in bytes(row.content), "sealed, not in clear"

    archive = await _dossier(service, case_id)
    kept = [name for name in archive.namelist() if name.startswith("files/")]
    assert kept == [f"files/01-einvoice-{digest[:12]}.erased.txt"]
    assert xml not in archive.read(kept[0])
    assert "erased" in archive.read(kept[0]).decode()
    manifest = json.loads(archive.read("manifest.json"))
    (entry,) = manifest["case_files"]
    assert (entry["sha256"], entry["size"], entry["path"]) == (digest, len(xml), None)
    assert "erased" in entry["note"]


async def test_a_credit_note_posted_twice_lowers_the_balance_once(
    service: Service, engine: AsyncEngine
) -> None:
    invoice = Doc()
    status, created = await _post(service, cii(invoice), XML)
    assert status == 201, created

    note = cii(invoice.credit_note("100.00"))  # 120.00 with VAT
    first = await _post(service, note, XML)
    second = await _post(service, note, XML)
    assert [(s, b["balance"]) for s, b in (first, second)] == [(200, "1080.00")] * 2

    # A crash after the credit applied but before its file was kept: the retry is the
    # same update (id from the file's hash), which Temporal answers without applying it.
    async with engine.begin() as conn:
        await conn.execute(
            delete(case_files).where(case_files.c.sha256 == hashlib.sha256(note).hexdigest())
        )
    status, retried = await _post(service, note, XML)
    assert (status, retried["balance"]) == (200, "1080.00"), retried

    other = cii(invoice.credit_note("50.00"))  # 60.00, posted twice at once
    both = await asyncio.gather(_post(service, other, XML), _post(service, other, XML))
    assert [s for s, _ in both] == [200, 200], both
    async with service.client("operator") as operator:
        case = (await operator.get(f"/v1/cases/{created['case_id']}")).json()
    assert case["balance"] == "1020.00", "each credit note file lowers the balance once"
    kinds = [(r.kind, r.sha256) for r in await _rows(engine, created["case_id"])]
    assert sorted(kinds) == sorted(
        [
            ("einvoice", hashlib.sha256(cii(invoice)).hexdigest()),
            ("credit_note", hashlib.sha256(note).hexdigest()),
            ("credit_note", hashlib.sha256(other).hexdigest()),
        ]
    )


@pytest.fixture
async def siren_service(service: Service) -> AsyncIterator[Service]:
    """The API with acme's SIREN configured, on the e2e worker's task queue."""
    settings = service.settings.model_copy(update={"tenant_sirens": "acme:732 829 320"})
    async with serve(create_app(settings)) as base_url:
        yield Service(base_url, settings, service.dev_env)


async def test_a_seller_other_than_the_tenant_is_a_422_on_bt30(siren_service: Service) -> None:
    status, refused = await _post(siren_service, ubl(Doc(seller_siren="552100554")), XML)
    assert status == 422, refused
    fields = [detail["field"] for detail in refused["error"]["details"]]
    assert fields == [
        "BT-30 /ubl:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/"
        "cbc:CompanyID"
    ], refused
    status, created = await _post(siren_service, ubl(Doc(seller_siren=SELLER_SIREN)), XML)
    assert status == 201, created


async def test_without_a_tenant_siren_the_seller_is_not_checked(service: Service) -> None:
    status, created = await _post(service, ubl(Doc(seller_siren="552100554")), XML)
    assert status == 201, created


def test_tenant_sirens_are_tenant_colon_nine_digits() -> None:
    assert parse_tenant_sirens(" acme:732 829 320, other:552.100.554 ,") == {
        "acme": "732829320",
        "other": "552100554",
    }
    for bad in ("acme", "acme:12345", ":732829320", "acme:73282932X"):
        with pytest.raises(ValueError, match="RECOUVRE_TENANT_SIRENS"):
            parse_tenant_sirens(bad)


async def test_the_case_files_table_matches_migration_0011(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(schema_differences, case_files) == []
