"""Setting up an MQTT export: format, broker, and what goes where.

The config flow asks for the format and the broker (Home Assistant's MQTT,
or another broker checked by connecting to it), then the format's settings:
the shadow's base topic and connectors (all by default, new ones
included), or Victron's portal id, connectors, and per connector the
driver's topic and device instance. The options flow asks for the format's
settings again; reconfiguring asks for the broker again, and reauthenticating
for the credentials of a broker of the export's own that refused them.
"""

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, selector
import probatio as vol

from ..api.shadow import (
    DEFAULT_BASE_TOPIC,
    ShadowTopicError,
    normalize_base_topic,
    validate_topic,
)
from ..api.victron import DEFAULT_TOPIC
from ..const import CONF_BASE_TOPIC, CONF_TYPE, LOGGER
from ..hub import ConnectorRef, async_get_hub
from .broker import BrokerSettings, ProbeResult, probe_broker
from .const import (
    CONF_BROKER,
    CONF_CA_FILE,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_CONNECTORS,
    CONF_DEVICE_INSTANCE,
    CONF_FORMAT,
    CONF_PORTAL_ID,
    CONF_TLS,
    CONF_TOPIC,
    CONF_VICTRON,
    DEFAULT_DEVICE_INSTANCE,
    DEFAULT_PORT,
    KIND,
    BrokerChoice,
    ExportFormat,
)

if TYPE_CHECKING:
    from homeassistant.data_entry_flow import FlowHandler

    _FlowBase = FlowHandler[Any, ConfigFlowResult, str]
else:
    _FlowBase = object

_BROKER_FIELDS: Final = (
    CONF_HOST,
    CONF_PORT,
    CONF_USERNAME,
    CONF_PASSWORD,
    CONF_TLS,
    CONF_CA_FILE,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
)
# Where each finding of the broker probe shows on the form.
_PROBE_FIELDS: Final = {
    ProbeResult.CANNOT_CONNECT: CONF_HOST,
    ProbeResult.INVALID_AUTH: CONF_PASSWORD,
    ProbeResult.TLS_FILES: CONF_CA_FILE,
}
# What makes two exports the same: format, broker and where they publish.
_PLACE: Final = (
    CONF_TYPE,
    CONF_FORMAT,
    CONF_HOST,
    CONF_PORT,
    CONF_BASE_TOPIC,
    CONF_PORTAL_ID,
)


_CREDENTIALS: Final = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): selector.TextSelector(),
        vol.Optional(CONF_PASSWORD): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
        ),
    }
)


def _stripped(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return the form's answers without surrounding blanks."""
    return {
        key: value.strip() if isinstance(value, str) else value
        for key, value in user_input.items()
    }


def ref_text(ref: ConnectorRef) -> str:
    """Return how a connector is stored: ``<charger id>/<number>``."""
    return f"{ref.charger_id}/{ref.connector}"


def parse_ref(text: str) -> ConnectorRef:
    """Return the connector a stored ``<charger id>/<number>`` names."""
    charger_id, _, number = text.rpartition("/")
    return ConnectorRef(charger_id, int(number))


def hub_connectors(hass: HomeAssistant) -> dict[str, str]:
    """Return every connector in the hub, stored form to label."""
    return {
        ref_text(ConnectorRef(handle.charger_id, part.number)): (
            f"{handle.name}, connector {part.number}"
        )
        for handle in async_get_hub(hass).chargers.values()
        for part in handle.connectors()
    }


def _connector_selector(
    hass: HomeAssistant, chosen: list[str]
) -> selector.SelectSelector:
    """Select connectors of the hub (and those chosen before, loaded or not)."""
    labels = {ref: ref for ref in chosen} | hub_connectors(hass)
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=[
                selector.SelectOptionDict(value=value, label=label)
                for value, label in sorted(labels.items())
            ],
            multiple=True,
        )
    )


class ExportSettingsSteps(_FlowBase):
    """The format's settings: the config flow's last steps and the options."""

    _settings: dict[str, Any]
    """The format's settings so far (the entry's, when changing them)."""
    _pending: list[str]
    """Victron: connectors whose topic and instance are still to ask."""

    if TYPE_CHECKING:
        # Each flow says which format it sets up, and what its last step does.
        def _format(self) -> ExportFormat: ...

        async def _async_finish(self, settings: dict[str, Any]) -> ConfigFlowResult: ...

    async def _async_step_settings(self) -> ConfigFlowResult:
        """Go to the format's first step."""
        if self._format() is ExportFormat.SHADOW:
            return await self.async_step_export_shadow()
        return await self.async_step_export_victron()

    async def async_step_export_shadow(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the base topic and the connectors (none picked: all)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                base_topic = normalize_base_topic(user_input[CONF_BASE_TOPIC])
            except ShadowTopicError:
                errors[CONF_BASE_TOPIC] = "invalid_topic"
            else:
                return await self._async_finish(
                    {
                        CONF_BASE_TOPIC: base_topic,
                        CONF_CONNECTORS: user_input.get(CONF_CONNECTORS, []),
                    }
                )
        current = user_input or {
            CONF_BASE_TOPIC: DEFAULT_BASE_TOPIC,
            CONF_CONNECTORS: [],
            **self._settings,
        }
        return self.async_show_form(
            step_id="export_shadow",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_BASE_TOPIC): selector.TextSelector(),
                        vol.Optional(CONF_CONNECTORS): _connector_selector(
                            self.hass, current.get(CONF_CONNECTORS, [])
                        ),
                    }
                ),
                current,
            ),
            errors=errors,
        )

    async def async_step_export_victron(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the GX's portal id and the connectors to show on it."""
        errors: dict[str, str] = {}
        if user_input is not None:
            connectors = user_input.get(CONF_CONNECTORS, [])
            try:
                portal_id = validate_topic(
                    user_input[CONF_PORTAL_ID].strip(), single_level=True
                )
            except ShadowTopicError:
                errors[CONF_PORTAL_ID] = "invalid_portal_id"
            if not connectors:
                errors[CONF_CONNECTORS] = "no_connectors"
            if not errors:
                previous = self._settings.get(CONF_VICTRON, {})
                self._settings = {
                    CONF_PORTAL_ID: portal_id,
                    CONF_VICTRON: {
                        ref: previous[ref] for ref in connectors if ref in previous
                    },
                }
                self._pending = list(connectors)
                return await self.async_step_export_victron_connector()
        elif not hub_connectors(self.hass) and not self._settings.get(CONF_VICTRON):
            return self.async_abort(reason="no_connectors")
        current = user_input or {
            CONF_CONNECTORS: list(
                self._settings.get(CONF_VICTRON) or hub_connectors(self.hass)
            ),
            **self._settings,
        }
        return self.async_show_form(
            step_id="export_victron",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_PORTAL_ID): selector.TextSelector(),
                        vol.Optional(CONF_CONNECTORS): _connector_selector(
                            self.hass, current[CONF_CONNECTORS]
                        ),
                    }
                ),
                current,
            ),
            errors=errors,
        )

    async def async_step_export_victron_connector(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask, for one connector, the driver's topic and device instance."""
        errors: dict[str, str] = {}
        victron: dict[str, dict[str, Any]] = self._settings[CONF_VICTRON]
        ref = self._pending[0]
        if user_input is not None:
            try:
                topic = validate_topic(user_input[CONF_TOPIC].strip().strip("/"))
            except ShadowTopicError:
                errors[CONF_TOPIC] = "invalid_topic"
            else:
                victron[ref] = {
                    CONF_TOPIC: topic,
                    CONF_DEVICE_INSTANCE: int(user_input[CONF_DEVICE_INSTANCE]),
                }
                self._pending.pop(0)
                if self._pending:
                    return await self.async_step_export_victron_connector()
                return await self._async_finish(self._settings)
        index = len(victron)
        current = (
            user_input
            or victron.get(ref)
            or {
                CONF_TOPIC: DEFAULT_TOPIC
                if index == 0
                else f"{DEFAULT_TOPIC}-{index + 1}",
                CONF_DEVICE_INSTANCE: DEFAULT_DEVICE_INSTANCE + index,
            }
        )
        return self.async_show_form(
            step_id="export_victron_connector",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_TOPIC): selector.TextSelector(),
                        vol.Required(CONF_DEVICE_INSTANCE): vol.All(
                            vol.Coerce(int), vol.Range(min=0, max=65535)
                        ),
                    }
                ),
                current,
            ),
            errors=errors,
            description_placeholders={
                "connector": hub_connectors(self.hass).get(ref, ref)
            },
        )


class ExportFlow(ExportSettingsSteps, ConfigFlow):
    """Add an MQTT export; reconfigure its broker."""

    _export: dict[str, Any]

    def _format(self) -> ExportFormat:
        return ExportFormat(self._export[CONF_FORMAT])

    async def async_step_mqtt_export(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the format and the broker (reconfiguring: the broker only)."""
        reconfigure = self.source == SOURCE_RECONFIGURE
        if user_input is not None:
            self._export = (
                {**self._get_reconfigure_entry().data, **user_input}
                if reconfigure
                else {CONF_TYPE: KIND, **user_input}
            )
            if user_input[CONF_BROKER] == BrokerChoice.OWN:
                return await self.async_step_export_broker()
            if not await mqtt.async_wait_for_mqtt_client(self.hass):
                return self.async_abort(reason="export_mqtt_not_configured")
            for key in _BROKER_FIELDS:
                self._export.pop(key, None)
            return await self._async_broker_done()
        fields: dict[Any, Any] = {}
        if not reconfigure:
            fields[vol.Required(CONF_FORMAT)] = selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[str(item) for item in ExportFormat],
                    translation_key=CONF_FORMAT,
                )
            )
        fields[vol.Required(CONF_BROKER)] = selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[str(item) for item in BrokerChoice],
                translation_key=CONF_BROKER,
            )
        )
        return self.async_show_form(
            step_id=KIND,
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields),
                dict(self._get_reconfigure_entry().data)
                if reconfigure
                else {
                    CONF_FORMAT: ExportFormat.SHADOW,
                    CONF_BROKER: BrokerChoice.HOME_ASSISTANT,
                },
            ),
        )

    async def async_step_export_broker(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where the broker is and how to log in; connect to check."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _stripped(user_input)
            if await self._async_probe_broker(user_input, errors):
                for key in _BROKER_FIELDS:
                    self._export.pop(key, None)
                self._export.update(
                    {key: value for key, value in user_input.items() if value != ""}
                )
                return await self._async_broker_done()
        current = user_input or {
            CONF_PORT: DEFAULT_PORT,
            CONF_TLS: False,
            **self._export,
        }
        return self.async_show_form(
            step_id="export_broker",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_HOST): selector.TextSelector(),
                        vol.Required(CONF_PORT): cv.port,
                        vol.Optional(CONF_USERNAME): selector.TextSelector(),
                        vol.Optional(CONF_PASSWORD): selector.TextSelector(
                            selector.TextSelectorConfig(
                                type=selector.TextSelectorType.PASSWORD
                            )
                        ),
                        vol.Required(CONF_TLS): selector.BooleanSelector(),
                        **{
                            vol.Optional(key): selector.TextSelector()
                            for key in (CONF_CA_FILE, CONF_CLIENT_CERT, CONF_CLIENT_KEY)
                        },
                    }
                ),
                current,
            ),
            errors=errors,
        )

    async def async_step_export_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the broker's user name and password again; connect to check."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = _stripped(user_input)
            data = {
                key: value
                for key, value in entry.data.items()
                if key not in (CONF_USERNAME, CONF_PASSWORD)
            }
            data.update({key: value for key, value in credentials.items() if value})
            if await self._async_probe_broker(data, errors):
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="export_reauth",
            data_schema=self.add_suggested_values_to_schema(
                _CREDENTIALS, {CONF_USERNAME: entry.data.get(CONF_USERNAME, "")}
            ),
            errors=errors,
            description_placeholders={"host": entry.data[CONF_HOST]},
        )

    async def _async_probe_broker(
        self, config: dict[str, Any], errors: dict[str, str]
    ) -> bool:
        """Connect to the broker once; put what went wrong in ``errors``."""
        try:
            result = await self.hass.async_add_executor_job(
                probe_broker,
                BrokerSettings.from_config(config),
                f"evse_bridge_probe_{self.flow_id}",
            )
        except Exception:  # noqa: BLE001 - the last resort of a config flow
            LOGGER.exception("Unexpected error connecting to the broker")
            errors["base"] = "unknown"
            return False
        if result is not ProbeResult.OK:
            errors[_PROBE_FIELDS[result]] = str(result)
        return result is ProbeResult.OK

    async def _async_broker_done(self) -> ConfigFlowResult:
        """Save a reconfigured broker, or go on to the format's settings."""
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), data=self._export
            )
        self._settings = {}
        return await self._async_step_settings()

    async def _async_finish(self, settings: dict[str, Any]) -> ConfigFlowResult:
        data = {**self._export, **settings}
        # Two exports of one format to the same place would fight over it.
        place = {key: data.get(key) for key in _PLACE}
        if any(
            {key: entry.data.get(key) for key in _PLACE} == place
            for entry in self._async_current_entries(include_ignore=False)
        ):
            return self.async_abort(reason="export_already_configured")
        if self._format() is ExportFormat.SHADOW:
            title = f"MQTT shadow ({settings[CONF_BASE_TOPIC]})"
        else:
            title = f"Victron export ({settings[CONF_PORTAL_ID]})"
        return self.async_create_entry(title=title, data=data)


class ExportOptionsFlow(ExportSettingsSteps, OptionsFlowWithReload):
    """Change what is exported, and where."""

    def _format(self) -> ExportFormat:
        return ExportFormat(self.config_entry.data[CONF_FORMAT])

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start from the entry's settings."""
        self._settings = {**self.config_entry.data, **self.config_entry.options}
        return await self._async_step_settings()

    async def _async_finish(self, settings: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(data=settings)
