"""MQTT export: every charger out over MQTT, to Victron Venus OS or as a shadow."""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, override

from homeassistant.config_entries import ConfigEntry, OptionsFlow
from homeassistant.core import HomeAssistant

from ..api.shadow import (
    OFFLINE,
    ONLINE,
    availability_topic,
    normalize_base_topic,
)
from ..backends.base import EntryKind
from ..const import CONF_BASE_TOPIC, DOMAIN
from ..coordinator import EntryRuntimeData
from ..hub import ConnectorRef
from .broker import BrokerSettings, ExportBroker, HaBroker, OwnBroker
from .const import (
    CONF_BROKER,
    CONF_CONNECTORS,
    CONF_DEVICE_INSTANCE,
    CONF_FORMAT,
    CONF_PORTAL_ID,
    CONF_TOPIC,
    CONF_VICTRON,
    KIND,
    BrokerChoice,
    ExportFormat,
)
from .exporter import Exporter, ShadowExporter, VictronExporter
from .flow import ExportFlow, ExportOptionsFlow, parse_ref


@dataclass(kw_only=True)
class ExportRuntimeData(EntryRuntimeData):
    """What a loaded export entry holds."""

    exporter: Exporter

    @property
    @override
    def kind(self) -> EntryKind:
        """Return the export kind."""
        return EXPORT


def export_config(entry: ConfigEntry) -> dict[str, Any]:
    """Return an entry's settings: its data, with the options over them."""
    return {**entry.data, **entry.options}


def _broker(
    hass: HomeAssistant, entry: ConfigEntry, config: Mapping[str, Any], will: str | None
) -> ExportBroker:
    if config[CONF_BROKER] == BrokerChoice.HOME_ASSISTANT:
        return HaBroker(hass)
    return OwnBroker(
        hass,
        BrokerSettings.from_config(config),
        client_id=f"{DOMAIN}_export_{entry.entry_id}",
        will=None if will is None else (will, ONLINE, OFFLINE),
        on_auth_failed=partial(entry.async_start_reauth, hass),
    )


def build_exporter(hass: HomeAssistant, entry: ConfigEntry) -> Exporter:
    """Return the exporter an entry describes."""
    config = export_config(entry)
    if config[CONF_FORMAT] == ExportFormat.SHADOW:
        base_topic = normalize_base_topic(config[CONF_BASE_TOPIC])
        refs = config.get(CONF_CONNECTORS) or []
        return ShadowExporter(
            hass,
            _broker(hass, entry, config, availability_topic(base_topic)),
            frozenset(map(parse_ref, refs)) if refs else None,
            base_topic,
        )
    connectors: dict[ConnectorRef, tuple[str, int]] = {
        parse_ref(ref): (settings[CONF_TOPIC], int(settings[CONF_DEVICE_INSTANCE]))
        for ref, settings in config[CONF_VICTRON].items()
    }
    return VictronExporter(
        hass, _broker(hass, entry, config, None), config[CONF_PORTAL_ID], connectors
    )


class ExportKind(EntryKind):
    """An MQTT export of the hub's chargers."""

    key = KIND
    flow = ExportFlow
    reconfigure_step = KIND
    reauth_step = "export_reauth"

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Connect and follow the hub; stop at unload."""
        exporter = build_exporter(hass, entry)
        await exporter.async_start()
        entry.runtime_data = ExportRuntimeData(exporter=exporter)
        entry.async_on_unload(exporter.async_stop)

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the options: what is exported, and where."""
        return ExportOptionsFlow()


EXPORT = ExportKind()
