"""CTEK Chargestorm Connected: data pushed over MQTT, control over Modbus TCP."""

from datetime import timedelta
from typing import override

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant

from ...api.control import ChargerControl
from ...api.ctek import CtekState
from ...api.ctek_control import CtekModbusControl
from ...api.ctek_modbus import CtekModbusApi, CtekModbusClient
from ...api.model import ChargerInfo
from ...const import CONF_API_VERSION, CONF_MODBUS, CONF_STALE_AFTER
from ...coordinator import ChargerConfigEntry
from ...sensor import EvseBridgeSensorEntityDescription, connector_value
from ..base import Charger, ChargerBackend
from .coordinator import CtekCoordinator
from .flow import DEFAULT_STALE_AFTER, EVSE_UNIT_FIELDS, CtekFlow, CtekOptionsFlow


class CtekBackend(ChargerBackend):
    """Chargestorm Connected 1 and 2."""

    key = "ctek"
    flow = CtekFlow
    reconfigure_step = "ctek"
    connector_device = "evse"
    connector_model = "EVSE"
    sensors = (
        EvseBridgeSensorEntityDescription(
            key="ctek_status",
            translation_key="ctek_status",
            device_class=SensorDeviceClass.ENUM,
            options=[state.value for state in CtekState],
            value_fn=connector_value(lambda connector: connector.vendor_status),
            reads=frozenset({"connector.vendor_status"}),
            exists_fn=lambda part: part.connector is not None,
        ),
    )

    @override
    async def async_create(
        self, hass: HomeAssistant, entry: ChargerConfigEntry
    ) -> Charger:
        """Follow the charger's MQTT topics; control it over Modbus if enabled."""
        options = entry.options
        control = None
        if options.get(CONF_MODBUS):
            client = CtekModbusClient(
                host=options[CONF_HOST],
                port=options[CONF_PORT],
                api=CtekModbusApi(int(options[CONF_API_VERSION])),
            )
            entry.async_on_unload(client.close)
            control = CtekModbusControl(
                client=client,
                units={
                    number: options[field]
                    for number, field in EVSE_UNIT_FIELDS.items()
                    if options.get(field)
                },
            )
        coordinator = CtekCoordinator(
            hass,
            entry,
            stale_after=timedelta(
                seconds=options.get(
                    CONF_STALE_AFTER, DEFAULT_STALE_AFTER.total_seconds()
                )
            ),
            control=control,
        )
        return Charger(
            info=ChargerInfo(
                serial_number=coordinator.serial_number,
                manufacturer="CTEK",
                model="Chargestorm Connected",
            ),
            coordinator=coordinator,
            control=control or ChargerControl(),
        )

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the options: freshness, and control over Modbus."""
        return CtekOptionsFlow()


BACKEND = CtekBackend()
