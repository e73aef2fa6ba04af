"""The partner hand-off channel: a case handed to a collection agency or a commissaire de
justice over its API, and the partner's reports brought back to the case.

- package.py: what a partner receives (``HandoffPackage``), built from the hand-off request
  and the case's ledgers;
- client.py: the ``PartnerClient`` protocol and ``HttpPartnerClient`` (recouvre's partner API);
- delivery.py: ``deliver_handoff``, once per idempotency key, recorded in ``partner_handoffs``;
- inbound.py: a signed partner report recorded once and signalled to the case's workflow;
- signature.py: the ``X-Recouvre-Signature`` HMAC; settings.py: ``PARTNER_*`` settings.

See docs/partners.md.
"""

from activities.partners.client import (
    HttpPartnerClient,
    Mandate,
    PartnerAuthFailed,
    PartnerClient,
    PartnerError,
    PartnerNotConfigured,
    PartnerRejected,
    PartnerRouter,
    PartnerUnavailable,
)
from activities.partners.delivery import deliver_handoff, handoff_to_partner
from activities.partners.inbound import PartnerEventIn, ReportReceipt, receive_report
from activities.partners.package import HandoffPackage, build_package
from activities.partners.settings import HandoffPartner, PartnerEndpoint, PartnerSettings
from activities.partners.tables import partner_events, partner_handoffs

__all__ = [
    "HandoffPackage",
    "HandoffPartner",
    "HttpPartnerClient",
    "Mandate",
    "PartnerAuthFailed",
    "PartnerClient",
    "PartnerEndpoint",
    "PartnerError",
    "PartnerEventIn",
    "PartnerNotConfigured",
    "PartnerRejected",
    "PartnerRouter",
    "PartnerSettings",
    "PartnerUnavailable",
    "ReportReceipt",
    "build_package",
    "deliver_handoff",
    "handoff_to_partner",
    "partner_events",
    "partner_handoffs",
    "receive_report",
]
