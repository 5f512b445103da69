"""Base entities and their creation, for every charger part."""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Set as AbstractSet
from contextlib import contextmanager
from typing import Protocol, override

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.control import Capabilities
from .api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerError,
    ChargerRefusedError,
    ChargerResponseError,
    CommandNotSupportedError,
)
from .api.model import ALL_FIELDS, Part
from .const import DOMAIN
from .coordinator import ChargerConfigEntry, ChargerCoordinator, PartListener
from .hub import ChargerHandle, CommandResult


class PartEntityDescription(Protocol):
    """What entity creation needs from a description."""

    @property
    def key(self) -> str:
        """Return the key."""

    @property
    def exists_fn(self) -> Callable[[Part], bool]:
        """Return whether the part has the data for this entity."""

    @property
    def capable_fn(self) -> Callable[[Capabilities], bool]:
        """Return whether the part's capabilities call for this entity."""

    @property
    def reads(self) -> AbstractSet[str] | None:
        """Return the fields of the part the entity shows; None: any."""


class EvseBridgeEntity(CoordinatorEntity[ChargerCoordinator]):
    """An entity of one part (meter or connector) of a charger."""

    _attr_has_entity_name = True

    def __init__(
        self,
        *,
        entry: ChargerConfigEntry,
        part_id: str,
        description: EntityDescription,
    ) -> None:
        """Describe the entity and the part's device."""
        coordinator = entry.runtime_data.coordinator
        # Every platform's description has ``reads`` (PartEntityDescription).
        reads: AbstractSet[str] | None = getattr(description, "reads", None)
        super().__init__(coordinator, context=PartListener(part_id, reads))
        self.entity_description = description
        self._part_id = part_id
        self._attr_unique_id = (
            f"{coordinator.serial_number}_{part_id}_{description.key}"
        )
        self._attr_device_info = part_device_info(entry, part_id)
        self._last_shown: tuple[bool, object] | None = None

    @property
    def part(self) -> Part:
        """Return the latest data of this entity's part (empty once it is gone)."""
        return self.coordinator.data.parts.get(self._part_id) or Part(id=self._part_id)

    @property
    @override
    def available(self) -> bool:
        """Return whether the part's data is current."""
        return self.coordinator.is_part_available(self._part_id)

    def _shown(self) -> object:
        """Return what the entity shows besides availability; see below.

        An entity may keep it in its ``_attr_`` values: this is called at
        every update that can change it, and once when the entity is added.
        """
        return None

    @override
    async def async_added_to_hass(self) -> None:
        """Show the part's data as it is now, then follow it."""
        await super().async_added_to_hass()
        self._last_shown = (self.available, self._shown())

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state when what the entity shows has changed.

        Most updates change one or two values of one part: writing only the
        entities whose state or availability changed keeps each update cheap,
        as Home Assistant's own MQTT entities do.
        """
        # The coordinator calls only the entities of the fields that changed.
        shown = (self.available, self._shown())
        if shown != self._last_shown:
            self._last_shown = shown
            self.async_write_ha_state()


class EvseBridgeControlEntity(EvseBridgeEntity):
    """An entity that commands a connector through the hub."""

    def __init__(
        self,
        *,
        entry: ChargerConfigEntry,
        part_id: str,
        description: EntityDescription,
    ) -> None:
        """Keep the charger's handle."""
        super().__init__(entry=entry, part_id=part_id, description=description)
        self._handle = entry.runtime_data.handle

    @property
    @override
    def available(self) -> bool:
        """Return whether the part is current and the charger can be commanded."""
        return super().available and self.coordinator.control_available

    @property
    def capabilities(self) -> Capabilities:
        """Return what this entity's connector can be told to do now."""
        return self._handle.control.capabilities(self.part)

    async def _async_command(
        self, command: Callable[[ChargerHandle, int], Awaitable[CommandResult]]
    ) -> None:
        """Send a command; failures become translated errors."""
        with translated_errors():
            await command(self._handle, self.part.number)


class EvseBridgeChargerEntity(CoordinatorEntity[ChargerCoordinator]):
    """An entity of the whole charger, on its own device, that commands it."""

    _attr_has_entity_name = True

    def __init__(
        self, *, entry: ChargerConfigEntry, description: EntityDescription
    ) -> None:
        """Describe the entity on the charger's device."""
        coordinator = entry.runtime_data.coordinator
        super().__init__(coordinator)
        self.entity_description = description
        self._handle = entry.runtime_data.handle
        self._attr_unique_id = f"{coordinator.serial_number}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.serial_number)}
        )

    @property
    @override
    def available(self) -> bool:
        """Return whether the charger can be commanded now."""
        return self.coordinator.control_available


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn the errors of a command into Home Assistant's, translated."""
    try:
        yield
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders={"error": str(err)},
        ) from err
    except CommandNotSupportedError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_supported",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerAuthenticationError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except ChargerRefusedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_refused",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerCommandError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_not_applied",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerResponseError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_error",
            translation_placeholders={"error": str(err)},
        ) from err
    except ChargerError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"error": str(err)},
        ) from err


class ChargerEntityDescription(Protocol):
    """What creating an entity of the whole charger needs from a description."""

    @property
    def capable_fn(self) -> Callable[[ChargerHandle], bool]:
        """Return whether the charger's capabilities call for this entity."""


class ChargerEntityFactory[DescriptionT](Protocol):
    """Creates the entity of one description for the whole charger."""

    def __call__(
        self, *, entry: ChargerConfigEntry, description: DescriptionT
    ) -> Entity:
        """Return the entity."""


def async_add_charger_entities[DescriptionT: ChargerEntityDescription](
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[DescriptionT],
    entity_factory: ChargerEntityFactory[DescriptionT],
) -> None:
    """Add the charger's own entities once its capabilities call for them.

    Capabilities are known per connector, so they wait for the first one.
    """
    handle = entry.runtime_data.handle
    waiting = list(descriptions)

    @callback
    def add_new_entities() -> None:
        ready = [
            description for description in waiting if description.capable_fn(handle)
        ]
        if ready:
            for description in ready:
                waiting.remove(description)
            async_add_entities(
                entity_factory(entry=entry, description=description)
                for description in ready
            )

    add_new_entities()
    entry.async_on_unload(
        entry.runtime_data.coordinator.async_add_listener(add_new_entities)
    )


def part_device_info(entry: ChargerConfigEntry, part_id: str) -> DeviceInfo:
    """Return the device of one part, linked to the charger's device."""
    runtime = entry.runtime_data
    part = runtime.coordinator.data.parts[part_id]
    if part.connector is not None or part.number:
        translation_key = runtime.backend.connector_device
        model = runtime.backend.connector_model
    else:
        translation_key, model = "main_meter", "Energy meter"
    return DeviceInfo(
        identifiers={(DOMAIN, f"{runtime.coordinator.serial_number}_{part_id}")},
        manufacturer=runtime.handle.info.manufacturer,
        model=model,
        serial_number=part.serial_number,
        translation_key=translation_key,
        translation_placeholders={
            "charger": entry.title,
            "number": str(part.number),
            "part": part_id,
        },
        via_device_id=runtime.charger_device_id,
    )


class PartEntityFactory[DescriptionT](Protocol):
    """Creates the entity of one description for one part."""

    def __call__(
        self, *, entry: ChargerConfigEntry, part_id: str, description: DescriptionT
    ) -> Entity:
        """Return the entity."""


def async_add_part_entities[DescriptionT: PartEntityDescription](
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[DescriptionT],
    entity_factory: PartEntityFactory[DescriptionT],
) -> None:
    """Add each part's entities once the part has the data for them.

    Parts appear when they first report (dynamic devices); a value a part has
    never sent, or a control its connector has no capability for, gets no
    entity until it has. A description is looked at again when a field it
    reads changes, or with any update of all parts.
    """
    coordinator = entry.runtime_data.coordinator
    control = entry.runtime_data.handle.control
    descriptions = tuple(descriptions)
    pending: dict[str, list[DescriptionT]] = {}
    # What the descriptions still waiting for each part read: only a change
    # of one of these fields can make one ready.
    watched: dict[str, AbstractSet[str] | None] = {}

    def ready(description: DescriptionT, part: Part) -> bool:
        return description.exists_fn(part) and description.capable_fn(
            control.capabilities(part)
        )

    @callback
    def add_new_entities() -> None:
        updated = coordinator.updated_part
        fields = coordinator.updated_fields
        if updated is not None and fields is not None:
            reads = watched.get(updated, ALL_FIELDS)
            if reads is not None and reads.isdisjoint(fields):
                return  # nothing a waiting description reads has changed
        part_ids = coordinator.data.parts if updated is None else (updated,)
        new_entities: list[Entity] = []
        for part_id in part_ids:
            waiting = pending.get(part_id)
            if waiting is None:
                waiting = pending[part_id] = list(descriptions)
            part = coordinator.data.parts[part_id]
            for description in [d for d in waiting if ready(d, part)]:
                waiting.remove(description)
                new_entities.append(
                    entity_factory(
                        entry=entry, part_id=part_id, description=description
                    )
                )
            watched[part_id] = _all_reads(waiting)
        if new_entities:
            async_add_entities(new_entities)

    add_new_entities()
    entry.async_on_unload(coordinator.async_add_listener(add_new_entities))


def _all_reads(
    descriptions: Iterable[PartEntityDescription],
) -> AbstractSet[str] | None:
    """Return every field some description reads; None if one reads any."""
    fields: set[str] = set()
    for description in descriptions:
        if description.reads is None:
            return None
        fields |= description.reads
    return fields
