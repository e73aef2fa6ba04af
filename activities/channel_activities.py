"""The non-email channels: letters, calls, hand-offs, court files and declarations of claim.

Each activity renders its French document (text, and laid out: activities/letter_layout)
and records it, once per idempotency key, in the ``channel_outbox`` ledger (migration 0003):
the row is what is sent, and its reference is what the case shows. With a provider, the
recorded row is then posted: registered letters (activities/registered_mail), simple letters
(activities/postal_mail), hand-offs to partners (activities/partners); a debtor's grouped
letter (``send_grouped_letter``) is recorded under its own key and each invoice's.

Errors a retry cannot fix are non-retryable ``ApplicationError``s, by ``type``:
``ChannelMismatch``, ``PartnerMismatch``, ``MissingAddress``, ``TemplateNotFound``,
``MissingContext``, ``InvalidContext``, ``InvalidSettings`` (the creditor settings
contradict each other: activities/creditor_identity.py) and ``IdempotencyConflict`` (the key
was already used for another case or channel).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channel_requests import (
    ChannelName,
    ChannelReceipt,
    ChannelRequest,
    PartnerKind,
    Recipient,
    reference_for,
)
from activities.channel_templates import (
    TEMPLATE_KEYS,
    ChannelTemplateNotFound,
    InvalidContextValue,
    MissingContextKeys,
    render_channel,
)
from activities.creditor_identity import (
    CreditorSettingsError,
    creditor_context,
    mediator_missing,
)
from activities.debtor_resolution import resolved_channel
from activities.grouped_letter_request import GroupedLetterRequest
from activities.grouped_letters import GROUPED_TEMPLATES, grouped_context
from activities.letter_layout.grouped import grouped_layout_json
from activities.letter_layout.stored import layout_json
from activities.partners import PartnerClient, handoff_to_partner
from activities.portal_link import PortalLinks
from activities.postal_mail.dispatch import post_simple_letter
from activities.postal_mail.provider import PostalMailProvider
from activities.registered_mail.dispatch import post_registered_letter
from activities.registered_mail.provider import RegisteredMailProvider
from activities.registered_mail.roster import RegisteredMailRoster
from storage.debtor_vault import DebtorVault
from storage.tables import channel_outbox

CHANNEL_LABELS: dict[str, str] = {
    "letter": "letter",
    "registered_letter": "registered letter",
    "phone_task": "phone task",
    "handoff": "hand-off",
    "court_file": "court file",
    "claim_declaration": "claim declaration",
}

DOCUMENT_LABELS: dict[str, str] = {
    "reminder_3": "dernière relance",
    "formal_notice": "mise en demeure",
    "phone_call": "appel de relance",
    "handoff_small_claims": "procédure simplifiée petites créances",
    "handoff_agency": "mandat de recouvrement amiable",
    "handoff_enforcement": "exécution forcée",
    "injonction_de_payer": "requête en injonction de payer",
    "claim_declaration": "déclaration de créance",
}

PARTNER_LABELS: dict[str, str] = {
    "agency": "collection agency",
    "commissaire_small_claims": "commissaire de justice (small claims)",
    "commissaire_enforcement": "commissaire de justice (enforcement)",
    "mandataire": "mandataire judiciaire",
    "court": "court",
}

_HANDOFF_PARTNERS: frozenset[PartnerKind] = frozenset(
    {"agency", "commissaire_small_claims", "commissaire_enforcement"}
)
_POSTAL: frozenset[ChannelName] = frozenset({"letter", "registered_letter"})


def summary_line(channel: str, template: str, partner: str | None, recipient: Recipient) -> str:
    """e.g. 'registered letter (mise en demeure) to Durand SARL, 12 rue de la Paix, 75002 Paris'."""
    document = DOCUMENT_LABELS.get(template.partition("@")[0], template)
    what = CHANNEL_LABELS.get(channel, channel)
    if channel == "handoff" and partner is not None:
        what = f"hand-off to {PARTNER_LABELS.get(partner, partner)}"
    who = ", ".join([recipient.name, *recipient.address_lines])
    preposition = "for" if channel == "phone_task" else "to"
    return f"{what} ({document}) {preposition} {who}"


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _fail(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _with_creditor(request: ChannelRequest) -> ChannelRequest:
    """``request`` with the creditor settings its template uses in its context (the
    creditor's identity, its consumer mediator: activities/creditor_identity.py); read here,
    never by the workflow, so that Temporal's history carries none of them."""
    keys = TEMPLATE_KEYS.get(request.template, frozenset())
    try:
        values = creditor_context(keys)
    except CreditorSettingsError as err:
        raise _fail(str(err), "InvalidSettings") from err
    if "complaint_refused" in keys and "complaint_refused" not in request.context:
        values["complaint_refused"] = ""  # the case does not say so: no refused complaint
    if not values:
        return request
    context = {**request.context, **values}
    if mediator_missing(context):
        activity.logger.warning(
            "%s: a consumer's complaint was refused but no consumer mediator is configured "
            "(CONSUMER_MEDIATOR_NAME, C. consommation L616-2): the letter names none",
            request.idempotency_key,
        )
    return request.model_copy(update={"context": context})


class ChannelActivities:
    """Activities of the non-email channels, given their database in the constructor."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        registered_mail: RegisteredMailProvider | None = None,
        registered_mail_roster: RegisteredMailRoster | None = None,
        postal_mail: PostalMailProvider | None = None,
        partners: PartnerClient | None = None,
        vault: DebtorVault | None = None,
        portal: PortalLinks | None = None,
    ) -> None:
        """Without a provider or partner client, the channel only records what it would send.
        ``registered_mail_roster`` picks each tenant's registered-mail provider (else the
        one ``registered_mail``). ``vault`` opens the identity of debtors named by id.
        ``portal``: letters to such a debtor carry its portal link (and QR code)."""
        self._engine = engine
        self._vault = vault
        self._portal = portal
        self._registered_mail = registered_mail
        self._roster = registered_mail_roster
        self._postal_mail = postal_mail
        self._partners = partners

    @activity.defn(name="send_letter")
    async def send_letter(self, request: ChannelRequest) -> ChannelReceipt:
        """A letter by simple post (e.g. the last amicable reminder with statement of account).

        With a provider, the recorded letter is then posted through it, once per key
        (activities/postal_mail/dispatch.py); without one, the letter is only recorded."""
        receipt, resolved = await self._record_resolved(request, "letter", partners={None})
        if self._postal_mail is None:
            return receipt
        return await post_simple_letter(
            self._engine, self._postal_mail, resolved, receipt, self._vault
        )

    @activity.defn(name="send_registered_letter")
    async def send_registered_letter(self, request: ChannelRequest) -> ChannelReceipt:
        """A registered letter with acknowledgement of receipt (LRAR): the formal notice.

        With a provider, the recorded letter is then posted through it, once per key
        (activities/registered_mail/dispatch.py), and the provider's sending id becomes the
        receipt's reference; without one, the letter is only recorded."""
        receipt, resolved = await self._record_resolved(
            request, "registered_letter", partners={None}
        )
        provider = (
            self._roster.for_tenant(request.tenant)
            if self._roster is not None
            else self._registered_mail
        )
        if provider is None:
            return receipt
        return await post_registered_letter(self._engine, provider, resolved, receipt, self._vault)

    @activity.defn(name="send_grouped_letter")
    async def send_grouped_letter(self, request: GroupedLetterRequest) -> ChannelReceipt:
        """One letter for several invoices of one debtor (its conversation's): the statement
        of account, or one formal notice by registered post with a décompte per invoice and
        the total. Recorded under its own key, and under each invoice's key pointing to it
        (``grouped_in``): each case's dossier holds it, and a later post under an invoice's
        key finds it done. Posted once, through the tenant's provider when there is one."""
        first = request.items[0]
        grouped = first.model_copy(
            update={
                "idempotency_key": request.idempotency_key,
                "template": GROUPED_TEMPLATES[request.channel],
                "context": grouped_context(request.items, request.line_totals),
            }
        )

        def layout(resolved: ChannelRequest) -> str | None:
            # Each invoice's décompte with the debtor's identity the grouped letter resolved.
            identity: dict[str, str] = {
                key: resolved.context[key]
                for key in ("debtor_name", "debtor_address")
                if key in resolved.context
            }
            return grouped_layout_json(
                resolved.template,
                [{**item.context, **identity} for item in request.items],
                resolved.recipient,
                reference_for(request.idempotency_key),
                grand_total=resolved.context["grand_total"],
                portal_url=self._portal_url(resolved),
            )

        receipt, resolved = await self._record_resolved(
            grouped, request.channel, {None}, layout_of=layout
        )
        await self._record_items(request)
        if request.channel == "letter":
            if self._postal_mail is None:
                return receipt
            return await post_simple_letter(
                self._engine, self._postal_mail, resolved, receipt, self._vault
            )
        provider = (
            self._roster.for_tenant(request.tenant)
            if self._roster is not None
            else self._registered_mail
        )
        if provider is None:
            return receipt
        return await post_registered_letter(self._engine, provider, resolved, receipt, self._vault)

    async def _record_items(self, request: GroupedLetterRequest) -> None:
        """Each invoice's row: the grouped letter as recorded, under the invoice's own key."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(channel_outbox).where(
                        channel_outbox.c.idempotency_key == request.idempotency_key
                    )
                )
            ).one()
            for item in request.items:
                await conn.execute(
                    insert(channel_outbox)
                    .values(
                        idempotency_key=item.idempotency_key,
                        case_id=item.case_id,
                        step=item.step,
                        channel=item.channel,
                        template=item.template,
                        partner=item.partner,
                        recipient=item.recipient.model_dump(mode="json"),
                        body=row.body,
                        layout=row.layout,
                        body_sha256=row.body_sha256,
                        reference=row.reference,
                        status="recorded",
                        grouped_in=request.idempotency_key,
                    )
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                )

    @activity.defn(name="create_phone_task")
    async def create_phone_task(self, request: ChannelRequest) -> ChannelReceipt:
        """A call for an operator, with its script and the outcomes to record."""
        return await self._record(request, "phone_task", partners={None})

    @activity.defn(name="hand_off_case")
    async def hand_off_case(self, request: ChannelRequest) -> ChannelReceipt:
        """The case handed to an agency, or to a commissaire de justice (small claims or
        enforcement); ``request.partner`` says which. With a partner client, the package is
        sent over HTTP once per idempotency key and the partner's reference is returned."""
        receipt, resolved = await self._record_resolved(
            request, "handoff", partners=_HANDOFF_PARTNERS
        )
        if self._partners is None or not self._partners.supports(request.partner or ""):
            return receipt
        return await handoff_to_partner(
            self._engine, self._partners, resolved, receipt, self._vault
        )

    @activity.defn(name="prepare_court_file")
    async def prepare_court_file(self, request: ChannelRequest) -> ChannelReceipt:
        """A draft injonction-de-payer request with its list of supporting documents."""
        return await self._record(request, "court_file", partners={None, "court"})

    @activity.defn(name="declare_claim")
    async def declare_claim(self, request: ChannelRequest) -> ChannelReceipt:
        """The declaration of claim to the mandataire judiciaire of an insolvent debtor."""
        return await self._record(request, "claim_declaration", partners={None, "mandataire"})

    async def _record(
        self,
        request: ChannelRequest,
        channel: ChannelName,
        partners: Collection[PartnerKind | None],
    ) -> ChannelReceipt:
        receipt, _ = await self._record_resolved(request, channel, partners)
        return receipt

    def _portal_url(self, request: ChannelRequest) -> str:
        """The debtor's portal link, valid from today, for a letter to a debtor known by id
        (the layout prints it only on the letters a debtor acts on: portal_block.py)."""
        if self._portal is None or request.debtor_id is None:
            return ""
        return self._portal.url_for(request.tenant, request.debtor_id, datetime.now(UTC).date())

    async def _record_resolved(
        self,
        request: ChannelRequest,
        channel: ChannelName,
        partners: Collection[PartnerKind | None],
        layout_of: Callable[[ChannelRequest], str | None] | None = None,
    ) -> tuple[ChannelReceipt, ChannelRequest]:
        """Render and record ``request`` unless its idempotency key was recorded before;
        also return the request with the debtor's identity and the creditor settings its
        template uses filled in (for the provider).

        The insert and the locked read share one transaction: of racing attempts one inserts,
        the others wait for it on the key and then read its row, so exactly one row exists.
        The row keeps the request's recipient as the case names it (``debtor:<id>``) and,
        for such a debtor, the rendered document sealed with the debtor's data key.
        """
        async with self._engine.begin() as conn:
            resolved = _with_creditor(await resolved_channel(self._vault, conn, request))
            self._check(resolved, channel, partners)
            body = self._render(resolved)
            body_hash = hashlib.sha256(body.encode()).hexdigest()
            layout = (
                layout_of(resolved)
                if layout_of is not None
                else layout_json(
                    resolved, reference_for(request.idempotency_key), self._portal_url(resolved)
                )
            )
            stored = body
            if request.debtor_id is not None and self._vault is not None:
                stored = await self._vault.seal_text(
                    conn, request.tenant, request.debtor_id, "outbox", body
                )
                if layout is not None:
                    layout = await self._vault.seal_text(
                        conn, request.tenant, request.debtor_id, "outbox", layout
                    )
            inserted = (
                await conn.execute(
                    insert(channel_outbox)
                    .values(
                        idempotency_key=request.idempotency_key,
                        case_id=request.case_id,
                        step=request.step,
                        channel=request.channel,
                        template=request.template,
                        partner=request.partner,
                        recipient=request.recipient.model_dump(mode="json"),
                        body=stored,
                        layout=layout,
                        body_sha256=body_hash,
                        reference=reference_for(request.idempotency_key),
                        status="recorded",
                    )
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                    .returning(channel_outbox.c.idempotency_key)
                )
            ).first()
            row = (
                await conn.execute(
                    select(channel_outbox)
                    .where(channel_outbox.c.idempotency_key == request.idempotency_key)
                    .with_for_update()
                )
            ).one()
        duplicate = inserted is None
        if duplicate:
            self._check_same_action(request, row)
            activity.logger.info(
                "%s %s already recorded as %s; not recording again",
                request.channel,
                request.idempotency_key,
                row.reference,
            )
            if row.body_sha256 != body_hash:
                activity.logger.warning(
                    "%s: this attempt rendered a different body than the recorded one; "
                    "the recorded one stands",
                    request.idempotency_key,
                )
        recipient = Recipient.model_validate(row.recipient)
        return ChannelReceipt(
            reference=row.reference,
            recorded_at=row.created_at,
            duplicate=duplicate,
            summary=summary_line(row.channel, row.template, row.partner, recipient),
        ), resolved

    @staticmethod
    def _check(
        request: ChannelRequest, channel: ChannelName, partners: Collection[PartnerKind | None]
    ) -> None:
        if request.channel != channel:
            raise _fail(
                f"request {request.idempotency_key!r} is for channel {request.channel!r}, "
                f"not {channel!r}",
                "ChannelMismatch",
            )
        if request.partner not in partners:
            allowed = ", ".join(sorted(repr(p) for p in partners))
            raise _fail(
                f"request {request.idempotency_key!r}: partner {request.partner!r} is not "
                f"valid for channel {channel!r} (allowed: {allowed})",
                "PartnerMismatch",
            )
        if channel in _POSTAL and not request.recipient.address_lines:
            raise _fail(
                f"request {request.idempotency_key!r}: a {CHANNEL_LABELS[channel]} needs a "
                f"postal address for {request.recipient.name!r}",
                "MissingAddress",
            )
        # CPCE R125-8: the commissaire who issued a small-claims title may not enforce it.
        issuer = request.context.get("small_claims_issuer", "")
        if (
            request.partner == "commissaire_enforcement"
            and issuer
            and _same_name(issuer, request.recipient.name)
        ):
            raise _fail(
                f"request {request.idempotency_key!r}: {issuer} issued the small-claims title "
                "and may not enforce it (CPCE R125-8); hand off to another commissaire",
                "PartnerMismatch",
            )

    @staticmethod
    def _render(request: ChannelRequest) -> str:
        try:
            return render_channel(request.template, request.context, request.recipient)
        except ChannelTemplateNotFound as err:
            raise _fail(str(err), "TemplateNotFound") from err
        except MissingContextKeys as err:
            raise _fail(str(err), "MissingContext") from err
        except InvalidContextValue as err:
            raise _fail(str(err), "InvalidContext") from err

    @staticmethod
    def _check_same_action(request: ChannelRequest, row: Any) -> None:
        if row.case_id != request.case_id or row.channel != request.channel:
            raise _fail(
                f"idempotency key {request.idempotency_key!r} was recorded for case "
                f"{row.case_id!r} on channel {row.channel!r}; refusing to reuse it for case "
                f"{request.case_id!r} on channel {request.channel!r}",
                "IdempotencyConflict",
            )
