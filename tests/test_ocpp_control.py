"""The OCPP charger's control by capability, over a stand-in for the layer's."""

from collections.abc import Awaitable, Callable
import logging
from unittest.mock import AsyncMock, Mock

import pytest

from custom_components.evse_bridge.api.errors import (
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerRefusedError,
    ChargerResponseError,
    ChargerTimeoutError,
    CommandNotSupportedError,
)
from custom_components.evse_bridge.api.model import ConnectorState, Part
from custom_components.evse_bridge.api.ocpp import (
    AvailabilityChange,
    OcppCallError,
    OcppCommandError,
    OcppConnectionError,
    OcppError,
    OcppRejectedError,
    OcppTimeoutError,
)
from custom_components.evse_bridge.backends.ocpp.const import PROFILE_VALIDITY
from custom_components.evse_bridge.backends.ocpp.control import OcppChargerControl


def control() -> tuple[OcppChargerControl, Mock]:
    """Return the adapter over a stand-in OcppControl."""
    layer = Mock(
        set_current_limit=AsyncMock(),
        resume=AsyncMock(),
        enable=AsyncMock(return_value=AvailabilityChange.APPLIED),
        disable=AsyncMock(return_value=AvailabilityChange.APPLIED),
        reset=AsyncMock(),
        start=AsyncMock(),
        stop=AsyncMock(),
    )
    return OcppChargerControl(lambda: layer, 32), layer


def test_capabilities() -> None:
    """A connector has limit, pause and sessions, and falls back on expiry."""
    adapter, _ = control()
    capabilities = adapter.capabilities(
        Part(id="connector1", number=1, connector=ConnectorState())
    )
    assert capabilities.current_limit is not None
    assert (capabilities.current_limit.min_a, capabilities.current_limit.max_a) == (
        6,
        32,
    )
    assert capabilities.pause_resume
    assert capabilities.start_stop
    assert capabilities.availability
    assert capabilities.restart
    assert capabilities.fallback is not None
    assert capabilities.fallback.after_s == PROFILE_VALIDITY.total_seconds()
    assert not adapter.capabilities(Part(id="mainMeter")).pause_resume


async def test_limit_set_while_paused_applies_on_resume() -> None:
    """The pause holds; resuming sets the limit asked for meanwhile."""
    adapter, layer = control()
    await adapter.set_charging_enabled(1, False)
    layer.set_current_limit.assert_awaited_once_with(1, 0, valid_for=PROFILE_VALIDITY)
    await adapter.set_current_limit(1, 10)
    assert layer.set_current_limit.await_count == 1
    await adapter.set_charging_enabled(1, True)
    layer.set_current_limit.assert_awaited_with(1, 10, valid_for=PROFILE_VALIDITY)
    assert adapter.paused == set()
    layer.resume.assert_not_awaited()


async def test_resume_without_limit_removes_ours() -> None:
    """Paused without a limit of ours, resuming hands back the charger's own."""
    adapter, layer = control()
    await adapter.set_charging_enabled(1, False)
    await adapter.set_charging_enabled(1, True)
    layer.resume.assert_awaited_once_with(1, valid_for=PROFILE_VALIDITY)
    # Resuming what is not paused changes nothing.
    await adapter.set_charging_enabled(1, True)
    layer.resume.assert_awaited_once()


async def test_resume_leaves_service_alone() -> None:
    """Resuming never puts a connector taken out of service back in service."""
    adapter, layer = control()
    await adapter.set_charging_enabled(1, False)
    await adapter.set_charging_enabled(1, True)
    layer.enable.assert_not_awaited()


async def test_service_applied() -> None:
    """In and out of service: ChangeAvailability, True once the status shows it."""
    adapter, layer = control()
    assert await adapter.set_available(2, False) is True
    layer.disable.assert_awaited_once_with(2)
    assert await adapter.set_available(2, True) is True
    layer.enable.assert_awaited_once_with(2)


async def test_service_scheduled() -> None:
    """Scheduled (a session runs) is not applied yet: False."""
    adapter, layer = control()
    layer.disable.return_value = AvailabilityChange.SCHEDULED
    assert await adapter.set_available(1, False) is False


async def test_restart_is_a_soft_reset() -> None:
    """Restart sends Reset (the layer's default, Soft) and waits for it."""
    adapter, layer = control()
    await adapter.restart()
    layer.reset.assert_awaited_once_with()


async def test_sessions() -> None:
    """Start and stop go to the layer as remote start and stop."""
    adapter, layer = control()
    await adapter.start_charging(2)
    await adapter.stop_charging(2)
    layer.start.assert_awaited_once_with(2)
    layer.stop.assert_awaited_once_with(2)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OcppRejectedError("no", status="Rejected"), ChargerRefusedError),
        (OcppCommandError("not done"), ChargerCommandError),
        (OcppTimeoutError("silent"), ChargerTimeoutError),
        (OcppConnectionError("gone"), ChargerConnectionError),
        (OcppCallError("error", code="InternalError"), ChargerResponseError),
        (OcppCallError("unknown", code="NotImplemented"), CommandNotSupportedError),
        (OcppCallError("unknown", code="NotSupported"), CommandNotSupportedError),
    ],
)
@pytest.mark.parametrize(
    ("method", "command"),
    [
        ("set_current_limit", lambda adapter: adapter.set_current_limit(1, 10)),
        ("disable", lambda adapter: adapter.set_available(1, False)),
        ("enable", lambda adapter: adapter.set_available(1, True)),
        ("reset", lambda adapter: adapter.restart()),
    ],
)
async def test_errors_become_the_hubs(
    error: OcppError,
    expected: type[ChargerError],
    method: str,
    command: Callable[[OcppChargerControl], Awaitable[object]],
) -> None:
    """The layer's errors reach the entities as the hub's, with the reason.

    A refusal is not a failure to carry out, and a CALLERROR is an answer,
    not a lost connection.
    """
    adapter, layer = control()
    getattr(layer, method).side_effect = error
    with pytest.raises(expected, match=str(error)):
        await command(adapter)
    assert adapter.limits == {}


async def test_renewal_goes_on_after_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connector whose renewal fails is logged; the others are renewed."""
    adapter, layer = control()
    await adapter.set_current_limit(1, 10)
    await adapter.set_charging_enabled(2, False)
    layer.set_current_limit.reset_mock()
    layer.set_current_limit.side_effect = [OcppTimeoutError("silent"), None]
    with caplog.at_level(logging.WARNING):
        await adapter.async_renew()
    assert "Could not renew the 10 A limit of connector 1" in caplog.text
    layer.set_current_limit.assert_awaited_with(2, 0, valid_for=PROFILE_VALIDITY)
