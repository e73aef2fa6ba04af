"""A collection policy: versioned data that drives a case's timeline."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.invoice import DebtorKind


class Channel(StrEnum):
    email = "email"


class PolicyStep(BaseModel):
    """One planned action. `offset` is ISO 8601 (P7D, PT5S) from `anchor`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    channel: Channel
    template: str = Field(description="Template id and version, e.g. reminder_1@1")
    anchor: Literal["due_date", "case_start"] = "due_date"
    offset: timedelta


class Policy(BaseModel):
    """A whole timeline. A case keeps the exact (id, version) it started with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    version: int = Field(ge=1)
    title: str
    debtor_kinds: list[DebtorKind] = Field(
        description="Kinds this policy is the default for; empty for opt-in policies"
    )
    send_hour_utc: int = Field(default=8, ge=0, le=23, description="Hour of day for dated steps")
    min_gap: timedelta = Field(description="Least time between two actions of a case")
    steps: list[PolicyStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_step_keys(self) -> Policy:
        keys = [step.key for step in self.steps]
        if len(keys) != len(set(keys)):
            raise ValueError(f"policy {self.id}: step keys must be unique")
        return self
