"""Where the session's SMTP server listens and stores what it receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    maildir: Path
