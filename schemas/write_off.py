"""The evidence a write-off records (what makes a claim irrecoverable for tax purposes)."""

from __future__ import annotations

from pydantic import Field

from legal.write_off import EvidenceKind
from schemas.bounds import MAX_NAME, MAX_REFERENCE, ApiModel, BoundedDate


class WriteOffEvidence(ApiModel):
    """One document on file: a liquidator's certificate of irrecoverability, the
    commissaire's report of failed enforcement (procès-verbal de carence), a liquidation
    judgment... (legal/write_off.py, ``EVIDENCE_RULES``, says what each one justifies)."""

    kind: EvidenceKind
    on: BoundedDate = Field(description="The date of the act, judgment or certificate")
    reference: str = Field(default="", max_length=MAX_REFERENCE)
    issuer: str = Field(default="", max_length=MAX_NAME, description="Who issued it")
