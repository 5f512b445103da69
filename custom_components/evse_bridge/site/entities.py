"""Each managed connector's entities: what the owner wants and what the site does.

They sit on the connector's own device (the charger entry's), the way core
helpers attach to a device they do not own; a connector whose charger is not
loaded yet gets them once its device is there, so that they never move between
devices with the order entries load in. The owner's choices (mode,
target, ready-by time) are restored after a restart and handed to the
controller; the rest shows the engine's latest answer.
"""

from collections.abc import Callable
from datetime import datetime, time
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfEnergy,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..hub import ChargerHandle, async_get_hub
from ..smart import ChargerDecision, Mode, ReasonCode
from .config import parse_connector
from .controller import SiteController
from .reason import reason_in_words

# The reasons that mean the main fuse (or a silent meter) holds the car back.
GUARD_REASONS = frozenset(
    {
        ReasonCode.FUSE_LIMITED,
        ReasonCode.FUSE_PAUSED,
        ReasonCode.SHARED,
        ReasonCode.METER_STALE,
    }
)


def site_device(controller: SiteController) -> DeviceInfo:
    """Return the site's own device."""
    entry = controller.entry
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.unique_id}")},
        name=entry.title,
        entry_type=DeviceEntryType.SERVICE,
    )


@callback
def connector_device(hass: HomeAssistant, key: str) -> dr.DeviceEntry | None:
    """Return the device of connector ``key``, once its charger has made it."""
    ref = parse_connector(key)
    handle = async_get_hub(hass).get(ref.charger_id)
    part = None if handle is None else handle.connector(ref.connector)
    if handle is None or part is None:
        return None
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{ref.charger_id}_{part.id}"), handle.entry.entry_id
    )


@callback
def async_when_devices_exist(
    hass: HomeAssistant,
    entry: ConfigEntry,
    keys: list[str],
    add: Callable[[list[str]], None],
) -> None:
    """Call ``add`` with the connectors whose device exists, now and as they come.

    A charger may load after the site, and report its connectors later still.
    """
    hub = async_get_hub(hass)
    pending = list(keys)
    followed: dict[ChargerHandle, CALLBACK_TYPE] = {}

    @callback
    def check(*_: object) -> None:
        if ready := [key for key in pending if connector_device(hass, key)]:
            pending[:] = [key for key in pending if key not in ready]
            add(ready)
        for key in pending:
            handle = hub.get(parse_connector(key).charger_id)
            if handle is not None and handle not in followed:
                followed[handle] = handle.async_add_listener(check)
        if not pending:
            stop()

    @callback
    def stop() -> None:
        for remove in (*followed.values(), *listeners):
            remove()
        followed.clear()
        listeners.clear()

    listeners = [
        hub.async_add_listener(check),
        hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, check),
    ]
    entry.async_on_unload(stop)
    check()


class SiteEntity(Entity):
    """An entity of one managed connector."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, controller: SiteController, key: str, description: EntityDescription
    ) -> None:
        """Describe the entity of connector ``key`` and find its device."""
        self.controller = controller
        self.key = key
        self.entity_description = description
        entry = controller.entry
        self._attr_unique_id = f"{entry.unique_id}_{key}_{description.key}"
        device = connector_device(controller.hass, key)
        assert device is not None  # noqa: S101 - made only once the device is there
        self.device_entry = device
        self._last_shown: object = None

    @property
    def decision(self) -> ChargerDecision:
        """Return the engine's latest answer (it has run before entities exist)."""
        return self.controller.decisions[self.key]

    def _shown(self) -> object:
        """Return what the entity shows; it is written when that changes."""
        return None

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the controller's answers."""
        await super().async_added_to_hass()
        self.async_on_remove(self.controller.async_add_listener(self._update))

    @callback
    def _update(self) -> None:
        shown = self._shown()
        if shown != self._last_shown:
            self._last_shown = shown
            self.async_write_ha_state()


# -- the owner's choices ------------------------------------------------------


class ModeSelect(SiteEntity, SelectEntity, RestoreEntity):
    """How the site charges this connector's car."""

    _attr_options: list[str] = [mode.value for mode in Mode]  # noqa: RUF012 - HA's own attribute

    @property
    @override
    def current_option(self) -> str:
        """Return the chosen mode."""
        return self.controller.settings[self.key].mode.value

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the mode chosen before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) and last.state in self.options:
            self.controller.async_set(self.key, mode=Mode(last.state))

    @override
    async def async_select_option(self, option: str) -> None:
        """Choose a mode; the engine applies it at once."""
        self.controller.async_set(self.key, mode=Mode(option))
        self.async_write_ha_state()


class TargetNumber(SiteEntity, RestoreNumber):
    """Energy to add in this session; 0 charges until the car is full."""

    @property
    @override
    def native_value(self) -> float:
        """Return the target in kWh (0: none)."""
        return self.controller.settings[self.key].target_kwh or 0.0

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the target set before the restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self._set(last.native_value)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Set the target; the plan follows at once."""
        self._set(value)
        self.async_write_ha_state()

    def _set(self, value: float) -> None:
        self.controller.async_set(self.key, target_kwh=value or None)


class ReadyByTime(SiteEntity, TimeEntity, RestoreEntity):
    """When the target must be reached (cheapest and window modes)."""

    @property
    @override
    def native_value(self) -> time:
        """Return the time of day."""
        return self.controller.settings[self.key].ready_by

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the time set before the restart."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) and (
            value := dt_util.parse_time(last.state)
        ):
            self.controller.async_set(self.key, ready_by=value)

    @override
    async def async_set_value(self, value: time) -> None:
        """Set the time; the plan follows at once."""
        self.controller.async_set(self.key, ready_by=value)
        self.async_write_ha_state()


# -- what the site does ---------------------------------------------------------


def _timestamp(value: float | None) -> datetime | None:
    return None if value is None else dt_util.utc_from_timestamp(value)


class ReasonSensor(SiteEntity, SensorEntity):
    """Why the connector gets the current it gets; the numbers as attributes."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options: list[str] = [code.value for code in ReasonCode]  # noqa: RUF012 - HA's own attribute

    @property
    @override
    def native_value(self) -> str:
        """Return the reason's code, shown translated."""
        return self.decision.reason.code.value

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the set-point and the reason's phase, current, limit and time."""
        reason = self.decision.reason
        until = _timestamp(reason.until)
        return {
            "current_a": self.decision.current_a,
            "phase": None if reason.phase is None else f"L{reason.phase}",
            "measured_a": None
            if reason.measured_a is None
            else round(reason.measured_a, 1),
            "limit_a": reason.limit_a,
            "until": None if until is None else until.isoformat(),
            "detail": reason_in_words(self.decision),
        }

    @override
    def _shown(self) -> object:
        return (self.native_value, tuple(self.extra_state_attributes.values()))


class PlanSensor(SiteEntity, SensorEntity):
    """When the plan starts charging; its slots and cost as attributes."""

    _attr_device_class = SensorDeviceClass.TIMESTAMP

    @property
    @override
    def native_value(self) -> datetime | None:
        """Return the planned start."""
        plan = self.decision.plan
        return None if plan is None else _timestamp(plan.next_start)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the expected cost and energy, and the planned slots."""
        plan = self.decision.plan
        if plan is None:
            return {}
        return {
            "expected_cost": round(plan.expected_cost, 2),
            "expected_kwh": round(plan.expected_kwh, 2),
            "feasible": plan.feasible,
            "slots": [
                {
                    "start": dt_util.utc_from_timestamp(slot.start).isoformat(),
                    "end": dt_util.utc_from_timestamp(slot.end).isoformat(),
                    "kwh": round(slot.kwh, 2),
                    "grid": slot.grid,
                }
                for slot in plan.slots
            ],
        }

    @override
    def _shown(self) -> object:
        return self.decision.plan


class GuardBinarySensor(SiteEntity, BinarySensorEntity):
    """On while the main fuse (or a silent meter) holds this car back."""

    @property
    @override
    def is_on(self) -> bool:
        """Return whether the guard limits the connector now."""
        return self.decision.reason.code in GUARD_REASONS

    @override
    def _shown(self) -> object:
        return self.is_on


class HeadroomSensor(SensorEntity):
    """What the main fuse leaves on the most loaded phase; unknown while stale."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, controller: SiteController, description: SensorEntityDescription
    ) -> None:
        """Describe the site's sensor."""
        self.controller = controller
        self.entity_description = description
        self._attr_unique_id = f"{controller.entry.unique_id}_{description.key}"
        self._attr_device_info = site_device(controller)
        self._last_shown: float | None = None

    @property
    @override
    def native_value(self) -> float | None:
        """Return the headroom, in A."""
        headroom = self.controller.headroom_a
        return None if headroom is None else round(headroom, 1)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the controller's answers."""
        await super().async_added_to_hass()
        self.async_on_remove(self.controller.async_add_listener(self._update))

    @callback
    def _update(self) -> None:
        if self.native_value != self._last_shown:
            self._last_shown = self.native_value
            self.async_write_ha_state()


HEADROOM = SensorEntityDescription(
    key="headroom",
    translation_key="headroom",
    device_class=SensorDeviceClass.CURRENT,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    suggested_display_precision=1,
)


type Factory = Callable[[SiteController, str, Any], Entity]


ENTITIES: dict[Platform, tuple[tuple[Factory, EntityDescription], ...]] = {
    Platform.SELECT: (
        (
            ModeSelect,
            SelectEntityDescription(
                key="mode",
                translation_key="mode",
                entity_category=EntityCategory.CONFIG,
            ),
        ),
    ),
    Platform.NUMBER: (
        (
            TargetNumber,
            NumberEntityDescription(
                key="target_energy",
                translation_key="target_energy",
                entity_category=EntityCategory.CONFIG,
                device_class=NumberDeviceClass.ENERGY,
                native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
                native_min_value=0,
                native_max_value=150,
                native_step=0.5,
                mode=NumberMode.BOX,
            ),
        ),
    ),
    Platform.TIME: (
        (
            ReadyByTime,
            TimeEntityDescription(
                key="ready_by",
                translation_key="ready_by",
                entity_category=EntityCategory.CONFIG,
            ),
        ),
    ),
    Platform.SENSOR: (
        (ReasonSensor, SensorEntityDescription(key="reason", translation_key="reason")),
        (PlanSensor, SensorEntityDescription(key="plan", translation_key="plan")),
    ),
    Platform.BINARY_SENSOR: (
        (
            GuardBinarySensor,
            BinarySensorEntityDescription(
                key="guard_active", translation_key="guard_active"
            ),
        ),
    ),
}
