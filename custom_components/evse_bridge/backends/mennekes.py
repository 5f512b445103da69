"""Mennekes AMTRON Xtra and Premium: JSON ("MHCP") over HTTP."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, override

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PIN, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import probatio as vol

from ..api.chargers import MennekesCharger
from ..api.mennekes import DEFAULT_PORT, MennekesClient
from ..const import HTTP_TIMEOUT
from ..sensor import EvseBridgeSensorEntityDescription, connector_value
from .http import SECRET, HttpBackend, HttpFlow

_STATES = [
    "idle",
    "standby_authorize",
    "standby_connect",
    "charging",
    "paused",
    "terminated",
    "error",
]


class MennekesFlow(HttpFlow):
    """Set up an AMTRON."""

    async def async_step_mennekes(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the box's address and PIN1."""
        return await self._async_step_http(BACKEND, user_input)


class MennekesBackend(HttpBackend):
    """AMTRON Xtra and Premium (HCC3 controller with the network option)."""

    key = "mennekes"
    flow = MennekesFlow
    connector_device = "connector"
    connector_model = "Connector"
    default_port = DEFAULT_PORT
    credentials = vol.Schema({vol.Required(CONF_PIN): SECRET})
    credential_field = CONF_PIN
    # The box "does not like to be stressed": its own app polls every 30 s.
    default_poll_interval = timedelta(seconds=30)
    min_poll_interval = timedelta(seconds=15)
    # The AMTRON reports the energy of the current session only.
    from_sessions = True
    sensors = (
        EvseBridgeSensorEntityDescription(
            key="mennekes_status",
            translation_key="mennekes_status",
            device_class=SensorDeviceClass.ENUM,
            options=_STATES,
            value_fn=connector_value(lambda connector: connector.vendor_status),
            reads=frozenset({"connector.vendor_status"}),
            exists_fn=lambda part: part.connector is not None,
        ),
    )

    @override
    def create_charger(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> MennekesCharger:
        """Return the box's client on Home Assistant's shared session."""
        return MennekesCharger(
            client=MennekesClient(
                host=data[CONF_HOST],
                port=data[CONF_PORT],
                dev_key=data[CONF_PIN],
                request_timeout=HTTP_TIMEOUT.total_seconds(),
                session=async_get_clientsession(hass),
            )
        )


BACKEND = MennekesBackend()
