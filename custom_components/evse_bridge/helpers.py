"""Shared helpers: building a charger client, and running commands."""

from collections.abc import Awaitable, Mapping
from typing import Any

from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api.chargers import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerError,
    CircontrolCharger,
    MennekesCharger,
    PolledCharger,
)
from .api.circontrol import CircontrolClient
from .api.mennekes import MennekesClient
from .const import CONF_VENDOR, DOMAIN, HTTP_TIMEOUT, Vendor
from .coordinator import PolledCoordinator


def create_polled_charger(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> PolledCharger:
    """Return the client of an HTTP charger, on Home Assistant's shared session.

    Raise ValueError for a host that cannot be part of a URL.
    """
    session = async_get_clientsession(hass)
    timeout = HTTP_TIMEOUT.total_seconds()
    if Vendor(data[CONF_VENDOR]) is Vendor.MENNEKES:
        return MennekesCharger(
            client=MennekesClient(
                host=data[CONF_HOST],
                port=data[CONF_PORT],
                dev_key=data[CONF_PIN],
                request_timeout=timeout,
                session=session,
            )
        )
    return CircontrolCharger(
        client=CircontrolClient(
            host=data[CONF_HOST],
            port=data[CONF_PORT],
            username=data.get(CONF_USERNAME) or None,
            password=data.get(CONF_PASSWORD) or None,
            request_timeout=timeout,
            session=session,
        )
    )


async def async_run_command(
    coordinator: PolledCoordinator, command: Awaitable[None]
) -> None:
    """Run a command; turn failures into translated errors, then refresh.

    The clients read the state back after every write, so a command the
    charger did not carry out fails here instead of looking done; entities
    then show what the charger reports.
    """
    try:
        await command
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerAuthenticationError as err:
        coordinator.config_entry.async_start_reauth(coordinator.hass)
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except ChargerCommandError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_not_applied",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    finally:
        # Not the debounced request: the user waits to see the outcome.
        await coordinator.async_refresh()
