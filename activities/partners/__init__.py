"""The partner hand-off channel: a case handed to a collection agency or a commissaire de
justice over its API, and the partner's reports brought back to the case.

- package.py: what a partner receives (``HandoffPackage``), built from the hand-off request
  and the case's ledgers;
- client.py: the ``PartnerClient`` protocol and ``HttpPartnerClient`` (recouvre's partner API);
- delivery.py: ``deliver_handoff``, once per idempotency key, recorded in ``partner_handoffs``;
- settings.py: ``PARTNER_*`` settings.

The partners' reports come back through inbound/partner_reports.py.

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
from activities.partners.package import HandoffPackage, build_package
from activities.partners.settings import HandoffPartner, PartnerEndpoint, PartnerSettings

__all__ = [
    "HandoffPackage",
    "HandoffPartner",
    "HttpPartnerClient",
    "Mandate",
    "PartnerAuthFailed",
    "PartnerClient",
    "PartnerEndpoint",
    "PartnerError",
    "PartnerNotConfigured",
    "PartnerRejected",
    "PartnerRouter",
    "PartnerSettings",
    "PartnerUnavailable",
    "build_package",
    "deliver_handoff",
    "handoff_to_partner",
]
