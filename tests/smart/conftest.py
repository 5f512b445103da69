"""Fixtures for the engine and simulator tests: no Home Assistant instance."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the suite's Home Assistant fixture: nothing here needs it."""
