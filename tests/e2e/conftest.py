"""End-to-end tests share the session's `service` fixture (tests/conftest.py)."""

from __future__ import annotations

from tests.support.service import KEY_SPEC, KEYS, Service, make_settings

__all__ = ["KEYS", "KEY_SPEC", "Service", "make_settings"]
