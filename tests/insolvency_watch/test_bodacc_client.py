"""Reading BODACC's records: which judgment, which proceeding, court, mandataire, date."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from inbound.bodacc_client import (
    MANDATAIRE_UNKNOWN,
    RECORDS_PATH,
    BodaccError,
    find_collective_notices,
    mandataire_of,
    parse_record,
    proceeding_of,
)
from sandboxes.bodacc_server import notice_record
from tests.insolvency_watch.conftest import Bodacc
from tests.support.invoices import fresh_siren
from tests.support.serving import free_port, serve

# A published notice (BODACC A n° 20200233, annonce 993, 30/11/2020; Licence Ouverte,
# DILA), as the annuaire-entreprises project (etalab) documents a record of the dataset,
# with ``registre`` as Explore API v2.1 gives it (a list) and the address left out.
PUBLISHED_CLOSURE: dict[str, Any] = {
    "id": "A202002333642",
    "publicationavis": "A",
    "publicationavis_facette": "Bodacc A",
    "parution": "20200233",
    "dateparution": "2020-11-30",
    "numeroannonce": 993,
    "typeavis": "annonce",
    "typeavis_lib": "Avis initial",
    "familleavis": "collective",
    "familleavis_lib": "Procédures collectives",
    "numerodepartement": "33",
    "departement_nom_officiel": "Gironde",
    "region_code": 75,
    "tribunal": "TRIBUNAL DE COMMERCE DE BORDEAUX",
    "commercant": "DJ BATIMENT",
    "ville": "Cenon",
    "cp": "33150",
    "registre": ["833 310 592", "833310592"],
    "jugement": json.dumps(
        {
            "date": "2020-11-19",
            "complementJugement": "Jugement prononçant la clôture de la procédure de "
            "liquidation judiciaire pour insuffisance d'actif.",
            "type": "initial",
            "famille": "Jugement de clôture",
            "nature": "Jugement de clôture pour insuffisance d'actif",
        },
        ensure_ascii=False,
    ),
    "listepersonnes": json.dumps(
        {"personne": {"typePersonne": "pm", "denomination": "DJ BATIMENT"}},
        ensure_ascii=False,
    ),
}


def _opening(nature: str, complement: str, **fields: Any) -> dict[str, Any]:
    return notice_record(
        "732829320",
        notice_id="A202601234567",
        published_on=date(2026, 11, 20),
        nature=nature,
        complement=complement,
        tribunal="TRIBUNAL DE COMMERCE DE LILLE METROPOLE",
        **fields,
    )


def test_an_opening_of_redressement_names_its_court_mandataire_and_date() -> None:
    record = _opening(
        "Jugement d'ouverture d'une procédure de redressement judiciaire",
        "Jugement d'ouverture d'une procédure de redressement judiciaire, date de cessation "
        "des paiements le 2 novembre 2026, désignant mandataire judiciaire SELARL MJ "
        "Synergie prise en la personne de Me Martin 12 rue Nationale 59000 Lille, "
        "administrateur SCP Abitbol. Les déclarations de créances sont à adresser au "
        "mandataire judiciaire dans les deux mois de la publication au BODACC.",
    )
    assert isinstance(record["jugement"], str), "the portal gives jugement as a JSON text"

    notice = parse_record(record)

    assert notice is not None
    assert notice.notice_id == "A202601234567"
    assert notice.published_on == date(2026, 11, 20)
    assert notice.sirens == frozenset({"732829320"})
    assert notice.court == "TRIBUNAL DE COMMERCE DE LILLE METROPOLE"
    assert notice.proceeding == "redressement"
    assert notice.mandataire == "SELARL MJ Synergie"
    assert notice.opens_proceeding


@pytest.mark.parametrize(
    ("famille", "nature", "expected"),
    [
        (
            "Jugement d'ouverture",
            "Jugement d'ouverture d'une procédure de sauvegarde",
            "sauvegarde",
        ),
        (
            "Jugement d'ouverture",
            "Jugement d'ouverture d'une procédure de liquidation judiciaire simplifiée",
            "liquidation",
        ),
        (
            "Jugement prononçant",
            "Jugement prononçant la résolution du plan de redressement et la liquidation "
            "judiciaire",
            "liquidation",
        ),
        (
            "Jugement de conversion",
            "Jugement de conversion en liquidation judiciaire de la procédure de "
            "redressement judiciaire",
            "liquidation",
        ),
        ("Jugement arrêtant le plan", "Jugement arrêtant le plan de redressement", None),
        ("Jugement de clôture", "Jugement de clôture pour insuffisance d'actif", None),
        ("Avis de dépôt", "Dépôt de l'état des créances", None),
        ("Jugement prononçant", "Jugement prononçant la faillite personnelle", None),
    ],
)
def test_only_a_judgment_opening_a_proceeding_starts_a_declaration(
    famille: str, nature: str, expected: str | None
) -> None:
    assert proceeding_of(famille, nature) == expected


@pytest.mark.parametrize(
    ("complement", "expected"),
    [
        (
            "désignant liquidateur Maître Paul Durand 3 place Vendôme 75001 Paris.",
            "Maître Paul Durand",
        ),
        ("Mandataire judiciaire : SELAS Alliance MJ, 5 rue Basse 59000 Lille", "SELAS Alliance MJ"),
        ("Liquidateur judiciaire : Me Claire Petit demeurant 1 rue Haute", "Me Claire Petit"),
        (
            "Jugement d'ouverture, date de cessation des paiements le 1 mars 2026.",
            MANDATAIRE_UNKNOWN,
        ),
        (
            "Les créances sont à adresser au mandataire judiciaire dans les 2 mois",
            MANDATAIRE_UNKNOWN,
        ),
        ("", MANDATAIRE_UNKNOWN),
    ],
)
def test_the_mandataire_is_read_from_the_judgment_text(complement: str, expected: str) -> None:
    assert mandataire_of(complement) == expected


def test_the_published_closure_notice_is_read_but_opens_nothing() -> None:
    notice = parse_record(PUBLISHED_CLOSURE)

    assert notice is not None
    assert notice.sirens == frozenset({"833310592"})
    assert notice.published_on == date(2020, 11, 30)
    assert notice.court == "TRIBUNAL DE COMMERCE DE BORDEAUX"
    assert notice.proceeding is None and not notice.opens_proceeding


def test_what_is_not_a_readable_collective_notice_is_none() -> None:
    creation = notice_record(
        "732829320", notice_id="A1", published_on=date(2026, 1, 5), familleavis="creation"
    )
    cancelled = _opening(
        "Jugement d'ouverture d'une procédure de sauvegarde", "", typeavis="annulation"
    )
    no_siren = {
        **_opening("Jugement d'ouverture d'une procédure de sauvegarde", ""),
        "registre": [],
    }
    no_date = {
        **_opening("Jugement d'ouverture d'une procédure de sauvegarde", ""),
        "dateparution": None,
    }
    broken = {**_opening("Jugement d'ouverture d'une procédure de sauvegarde", ""), "jugement": "{"}

    assert [parse_record(r) for r in (creation, cancelled, no_siren, no_date)] == [None] * 4
    unreadable = parse_record(broken)
    assert unreadable is not None and unreadable.proceeding is None, "no judgment, no opening"


def test_the_v1_comma_separated_registre_is_read_too() -> None:
    notice = parse_record({**PUBLISHED_CLOSURE, "registre": "833 310 592,833310592"})
    assert notice is not None and notice.sirens == frozenset({"833310592"})


async def test_the_client_pages_through_every_notice_of_the_sirens_asked(bodacc: Bodacc) -> None:
    siren, other = fresh_siren(), fresh_siren()
    records = [
        notice_record(
            siren,
            notice_id=f"A2026{n:08d}{siren}",
            published_on=date(2026, 1, 1 + n % 28),
            nature="Jugement d'ouverture d'une procédure de sauvegarde",
        )
        for n in range(130)
    ]
    old = notice_record(siren, notice_id=f"A2020OLD{siren}", published_on=date(2020, 1, 2))
    bodacc.sandbox.publish(*records, old)
    bodacc.sandbox.publish(
        notice_record(other, notice_id=f"A2026X{other}", published_on=date(2026, 2, 1))
    )
    asked = len(bodacc.sandbox.queries)

    async with httpx.AsyncClient() as http:
        notices = await find_collective_notices(http, bodacc.url, [siren], date(2025, 6, 1))

    assert len(notices) == 130, "every page, none of the older notice or of another SIREN"
    assert [n.published_on for n in notices] == sorted(n.published_on for n in notices)
    queries = bodacc.sandbox.queries[asked:]
    assert [(q["limit"], q["offset"]) for q in queries] == [("100", "0"), ("100", "100")]
    assert f'registre = "{siren}"' in queries[0]["where"]
    assert "dateparution >= date'2025-06-01'" in queries[0]["where"]
    assert "commercant" not in queries[0]["select"], "no names asked"


async def test_an_unreachable_or_failing_bodacc_raises_bodacc_error() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(BodaccError, match="unreachable"):
            await find_collective_notices(
                http, f"http://127.0.0.1:{free_port()}", ["732829320"], date(2026, 1, 1)
            )
    down = FastAPI()

    @down.get(RECORDS_PATH)
    async def maintenance() -> PlainTextResponse:
        return PlainTextResponse("maintenance", status_code=503)

    async with serve(down) as url, httpx.AsyncClient() as http:
        with pytest.raises(BodaccError, match="503"):
            await find_collective_notices(http, url, ["732829320"], date(2026, 1, 1))
