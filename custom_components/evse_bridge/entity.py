"""Base entity and dynamic entity creation for EVSE Bridge."""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Protocol, cast, override

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.chargers import PolledCharger
from .api.model import Part
from .const import CONF_VENDOR, DOMAIN, Vendor
from .coordinator import CtekCoordinator, EvseBridgeConfigEntry, PolledCoordinator
from .helpers import async_run_command

# Part ids of connectors, by vendor: CTEK "evse1", Circontrol "plug1",
# Mennekes "connector1"; the model shown for such a part's device.
_CONNECTOR_KINDS = {"evse": "EVSE", "plug": "Plug", "connector": "Connector"}


class PartEntityDescription(Protocol):
    """What entity creation needs from a description."""

    @property
    def key(self) -> str:
        """Return the key."""

    @property
    def exists_fn(self) -> Callable[[Part], bool]:
        """Return whether the part has the data for this entity."""


class EvseBridgeEntity(CoordinatorEntity[CtekCoordinator | PolledCoordinator]):
    """An entity of one part (meter or EVSE) of a charger."""

    _attr_has_entity_name = True

    def __init__(
        self,
        *,
        entry: EvseBridgeConfigEntry,
        part_id: str,
        description: EntityDescription,
    ) -> None:
        """Describe the entity and the part's device."""
        coordinator = entry.runtime_data.coordinator
        super().__init__(coordinator, context=part_id)
        self.entity_description = description
        self._part_id = part_id
        serial_number = coordinator.serial_number
        self._attr_unique_id = f"{serial_number}_{part_id}_{description.key}"
        self._attr_device_info = part_device_info(entry, part_id)
        self._last_shown: tuple[bool, object] | None = None

    @property
    def part(self) -> Part:
        """Return the latest data of this entity's part (empty once it is gone)."""
        return self.coordinator.data.parts.get(self._part_id) or Part(id=self._part_id)

    @property
    @override
    def available(self) -> bool:
        """Return whether the part keeps publishing and MQTT is connected."""
        return self.coordinator.is_part_available(self._part_id)

    def _shown(self) -> object:
        """Return what the entity shows besides availability; see below."""
        return None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state when what the entity shows has changed.

        A Chargestorm publishes every part's data in separate messages, and
        most messages change one or two values: writing only the entities
        whose state or availability changed keeps each message cheap, as
        Home Assistant's own MQTT entities do.
        """
        # The coordinator calls only the entities of the part that changed.
        shown = (self.available, self._shown())
        if shown != self._last_shown:
            self._last_shown = shown
            self.async_write_ha_state()


class EvseBridgeControlEntity(EvseBridgeEntity):
    """An entity that sends commands to a polled (HTTP) charger."""

    async def _async_command(
        self, command: Callable[[PolledCharger], Awaitable[None]]
    ) -> None:
        """Send a command; errors become translated messages; then refresh."""
        # Control platforms are only set up for polled chargers.
        coordinator = cast("PolledCoordinator", self.coordinator)
        await async_run_command(coordinator, command(coordinator.charger))


def part_device_info(entry: EvseBridgeConfigEntry, part_id: str) -> DeviceInfo:
    """Return the device of one part, linked to the charger's device."""
    coordinator = entry.runtime_data.coordinator
    kind = part_id.rstrip("0123456789")
    if kind in _CONNECTOR_KINDS:
        translation_key, model = kind, _CONNECTOR_KINDS[kind]
    else:
        translation_key = "main_meter" if part_id == "mainMeter" else "meter"
        model = "Energy meter"
    return DeviceInfo(
        identifiers={(DOMAIN, f"{coordinator.serial_number}_{part_id}")},
        manufacturer=entry.runtime_data.info.manufacturer,
        model=model,
        serial_number=coordinator.data.parts[part_id].serial_number,
        translation_key=translation_key,
        translation_placeholders={
            "charger": entry.title,
            "number": part_id.removeprefix(kind),
            "part": part_id,
        },
        via_device_id=entry.runtime_data.charger_device_id,
    )


class PartEntityFactory[DescriptionT](Protocol):
    """Creates the entity of one description for one part."""

    def __call__(
        self, *, entry: EvseBridgeConfigEntry, part_id: str, description: DescriptionT
    ) -> Entity:
        """Return the entity."""


def async_add_part_entities[DescriptionT: PartEntityDescription](
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions_by_vendor: Mapping[Vendor, Iterable[DescriptionT]],
    entity_factory: PartEntityFactory[DescriptionT],
) -> None:
    """Add each part's entities once the part has the data for them.

    Parts appear when they first publish (dynamic devices), and a value a
    part has never sent gets no entity until it does.
    """
    coordinator = entry.runtime_data.coordinator
    descriptions = tuple(
        descriptions_by_vendor.get(Vendor(entry.data[CONF_VENDOR]), ())
    )
    pending: dict[str, list[DescriptionT]] = {}

    @callback
    def add_new_entities() -> None:
        updated = coordinator.updated_part
        part_ids = coordinator.data.parts if updated is None else (updated,)
        new_entities: list[Entity] = []
        for part_id in part_ids:
            waiting = pending.get(part_id)
            if waiting is None:
                waiting = pending[part_id] = list(descriptions)
            if not waiting:
                continue
            part = coordinator.data.parts[part_id]
            ready = [
                description for description in waiting if description.exists_fn(part)
            ]
            for description in ready:
                waiting.remove(description)
                new_entities.append(
                    entity_factory(
                        entry=entry, part_id=part_id, description=description
                    )
                )
        if new_entities:
            async_add_entities(new_entities)

    add_new_entities()
    entry.async_on_unload(coordinator.async_add_listener(add_new_entities))
