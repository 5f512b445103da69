"""OCPP 1.6J: a central system in Home Assistant, and the chargers it accepts.

Two kinds of entry: the server (one per Home Assistant) and one charger per
accepted charge point, added by the discovery flow the server starts when a
charge point connects for the first time.
"""

from dataclasses import dataclass
import ssl
from typing import Any, override

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntry, ConfigEntryState, OptionsFlow
from homeassistant.const import PERCENTAGE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from ...api.model import DEFAULT_MAX_CURRENT_A, ChargerInfo
from ...api.ocpp import OcppControl
from ...const import DOMAIN
from ...coordinator import ChargerConfigEntry, EntryRuntimeData
from ...sensor import EvseBridgeSensorEntityDescription, connector_value
from ..base import Charger, ChargerBackend, EntryKind
from .central import (
    OcppCentral,
    async_get_central,
    charger_entries,
    charger_unique_id,
    ssl_context,
)
from .const import (
    CHARGER_KIND,
    CONF_CERTFILE,
    CONF_CHARGE_POINT_ID,
    CONF_KEYFILE,
    CONF_MANUFACTURER,
    CONF_MAX_CURRENT,
    CONF_MODEL,
    SERVER_KIND,
)
from .control import OcppChargerControl
from .coordinator import OcppCoordinator
from .flow import (
    OcppChargerFlow,
    OcppChargerOptionsFlow,
    OcppServerFlow,
    OcppServerOptionsFlow,
)


@dataclass(kw_only=True)
class OcppServerRuntimeData(EntryRuntimeData):
    """What the loaded server entry holds."""

    central: OcppCentral

    @property
    @override
    def kind(self) -> EntryKind:
        """Return the server's kind."""
        return SERVER

    @override
    def diagnostics(self) -> dict[str, Any]:
        """Return the server's settings and its charge points."""
        return {"server": self.central.diagnostics()}


class OcppServerKind(EntryKind):
    """The central system that OCPP charge points connect to."""

    key = SERVER_KIND
    flow = OcppServerFlow

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Listen for charge points; a taken port is retried later."""
        options = entry.options
        context: ssl.SSLContext | None = None
        if options.get(CONF_CERTFILE):
            try:
                context = await hass.async_add_executor_job(
                    ssl_context, options[CONF_CERTFILE], options[CONF_KEYFILE]
                )
            except (OSError, ssl.SSLError) as err:
                raise ConfigEntryNotReady(
                    translation_domain=DOMAIN,
                    translation_key="ocpp_certificate",
                    translation_placeholders={"error": str(err)},
                ) from err
        central = OcppCentral(hass, options, context)
        try:
            await central.async_start()
        except OSError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="ocpp_port_in_use",
                translation_placeholders={
                    "port": str(central.server.port),
                    "error": str(err),
                },
            ) from err
        entry.runtime_data = OcppServerRuntimeData(central=central)
        entry.async_on_unload(central.async_stop)
        # Chargers that waited for the server, or followed the one it replaces.
        for charger in charger_entries(hass):
            if charger.state in {ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY}:
                hass.config_entries.async_schedule_reload(charger.entry_id)

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the server's settings."""
        return OcppServerOptionsFlow()


class OcppBackend(ChargerBackend):
    """Any charge point that speaks OCPP 1.6J to the server."""

    key = CHARGER_KIND
    flow = OcppChargerFlow
    reconfigure_step = "ocpp_password"
    connector_device = "connector"
    connector_model = "Connector"
    sensors = (
        EvseBridgeSensorEntityDescription(
            key="soc",
            device_class=SensorDeviceClass.BATTERY,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=PERCENTAGE,
            value_fn=connector_value(lambda connector: connector.soc_percent),
            exists_fn=lambda part: (
                part.connector is not None and part.connector.soc_percent is not None
            ),
        ),
    )

    @override
    async def async_create(
        self, hass: HomeAssistant, entry: ChargerConfigEntry
    ) -> Charger:
        """Follow the charge point on the server, and let it in."""
        central = async_get_central(hass)
        if central is None:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="ocpp_server_not_loaded"
            )
        charge_point_id: str = entry.data[CONF_CHARGE_POINT_ID]

        def control() -> OcppControl:
            return central.server.control(charge_point_id)

        charger_control = OcppChargerControl(
            control, int(entry.options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT_A))
        )
        coordinator = OcppCoordinator(
            hass,
            entry,
            central=central,
            charge_point_id=charge_point_id,
            serial_number=charger_unique_id(charge_point_id),
            control=charger_control,
        )
        entry.async_create_background_task(
            hass, central.async_accept(charge_point_id), "ocpp accept"
        )
        return Charger(
            info=ChargerInfo(
                serial_number=coordinator.serial_number,
                manufacturer=entry.data[CONF_MANUFACTURER],
                model=entry.data[CONF_MODEL] or None,
            ),
            coordinator=coordinator,
            control=charger_control,
        )

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the charger's rating."""
        return OcppChargerOptionsFlow()


SERVER = OcppServerKind()
BACKEND = OcppBackend()
