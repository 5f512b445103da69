"""Circontrol CirCarLife wallboxes: PowerStudio XML over HTTP."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, override

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import probatio as vol

from ..api.chargers import CircontrolCharger
from ..api.circontrol import CircontrolClient, CircontrolPlugState
from ..const import HTTP_TIMEOUT
from ..sensor import EvseBridgeSensorEntityDescription, connector_value
from .http import SECRET, TEXT, HttpBackend, HttpFlow


class CircontrolFlow(HttpFlow):
    """Set up a CirCarLife wallbox."""

    async def async_step_circontrol(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the wallbox's address and optional login."""
        return await self._async_step_http(BACKEND, user_input)


class CircontrolBackend(HttpBackend):
    """CirCarLife Wallbox Smart (also sold as evolt EV-WBM-SMART)."""

    key = "circontrol"
    flow = CircontrolFlow
    connector_device = "plug"
    connector_model = "Plug"
    # The web interface, plain HTTP.
    default_port = 80
    credentials = vol.Schema(
        {vol.Optional(CONF_USERNAME): TEXT, vol.Optional(CONF_PASSWORD): SECRET}
    )
    credential_field = CONF_PASSWORD
    # Two small XML requests per poll are no burden for a CirCarLife.
    default_poll_interval = timedelta(seconds=10)
    min_poll_interval = timedelta(seconds=5)
    sensors = (
        EvseBridgeSensorEntityDescription(
            key="circontrol_status",
            translation_key="circontrol_status",
            device_class=SensorDeviceClass.ENUM,
            options=[state.name.lower() for state in CircontrolPlugState],
            value_fn=connector_value(lambda connector: connector.vendor_status),
            reads=frozenset({"connector.vendor_status"}),
            exists_fn=lambda part: part.connector is not None,
        ),
    )

    @override
    def create_charger(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> CircontrolCharger:
        """Return the wallbox's client on Home Assistant's shared session."""
        return CircontrolCharger(
            client=CircontrolClient(
                host=data[CONF_HOST],
                port=data[CONF_PORT],
                username=data.get(CONF_USERNAME) or None,
                password=data.get(CONF_PASSWORD) or None,
                request_timeout=HTTP_TIMEOUT.total_seconds(),
                session=async_get_clientsession(hass),
            )
        )


BACKEND = CircontrolBackend()
