"""Fault tests print one line of figures each; they are repeated in pytest's summary."""

from __future__ import annotations

import pytest

from tests.faults.figures import REPORTED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTED:
        terminalreporter.section("fault figures")
        for line in REPORTED:
            terminalreporter.write_line(line)
