"""Shared fixtures for the legal package tests."""

import pytest

from legal.rates import RateTable, load_rate_table


@pytest.fixture(scope="session")
def rates() -> RateTable:
    """The packaged rate table (loaded once: tests only read it)."""
    return load_rate_table()
