"""Setting up a Chargestorm: its MQTT topics, and control over Modbus."""

import asyncio
from datetime import timedelta
from typing import Any, Final, override

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import probatio as vol

from ...api.ctek import (
    DEFAULT_BASE_TOPIC,
    CtekCharger,
    CtekError,
    CtekTopicError,
    normalize_base_topic,
    subscription_topic,
    validate_charger_id,
)
from ...api.ctek_modbus import (
    DEFAULT_PORT as MODBUS_PORT,
    CtekModbusApi,
    CtekModbusClient,
    CtekModbusProbeResult,
)
from ...api.http import normalize_host
from ...const import (
    CONF_API_VERSION,
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_MODBUS,
    CONF_STALE_AFTER,
    CONF_TYPE,
    LOGGER,
)
from ..http import seconds_selector

# How long the config flow waits for the charger's first message: longer than
# the CCU's usual 30 s report interval.
PROBE_TIMEOUT: Final = timedelta(seconds=40)
# The CCU publishes meter data about every 30 s; four missed reports mean the
# charger (or its link to the broker) is gone, rather than one late message.
DEFAULT_STALE_AFTER: Final = timedelta(seconds=120)
MIN_STALE_AFTER: Final = timedelta(seconds=30)
MAX_STALE_AFTER: Final = timedelta(hours=1)
# A Chargestorm Connected has one or two outlets, EVSE 1 and EVSE 2.
EVSE_UNIT_FIELDS: Final = {1: "evse1_unit_id", 2: "evse2_unit_id"}
# Any charger under the base topic; used when the user leaves the id empty.
_ANY_CHARGER = "+"


def ctek_title(charger_id: str) -> str:
    """Return the name of a Chargestorm's entry."""
    return f"Chargestorm {charger_id}"


class CtekFlow(ConfigFlow):
    """Add a Chargestorm by hand or when MQTT discovers it; change its topics."""

    _discovered: dict[str, str]

    async def async_step_ctek(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set up a CTEK Chargestorm that publishes to the MQTT broker."""
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return self.async_abort(reason="mqtt_not_configured")
        errors: dict[str, str] = {}
        if user_input is not None:
            result = await self._async_validate_ctek(user_input, errors)
            if result is not None:
                base_topic, charger_id = result
                # The user's own flow wins over a discovery flow in progress.
                await self.async_set_unique_id(charger_id, raise_on_progress=False)
                data = {
                    CONF_TYPE: "ctek",
                    CONF_BASE_TOPIC: base_topic,
                    CONF_CHARGER_ID: charger_id,
                }
                if self.source == SOURCE_RECONFIGURE:
                    self._abort_if_unique_id_mismatch(reason="different_device")
                    return self.async_update_reload_and_abort(
                        self._get_reconfigure_entry(), data_updates=data
                    )
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=ctek_title(charger_id), data=data)
        else:
            user_input = (
                dict(self._get_reconfigure_entry().data)
                if self.source == SOURCE_RECONFIGURE
                else {CONF_BASE_TOPIC: DEFAULT_BASE_TOPIC}
            )
        return self.async_show_form(
            step_id="ctek",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_BASE_TOPIC): selector.TextSelector(),
                        vol.Optional(CONF_CHARGER_ID): selector.TextSelector(),
                    }
                ),
                user_input,
            ),
            errors=errors,
            description_placeholders={
                "timeout": str(int(PROBE_TIMEOUT.total_seconds()))
            },
        )

    async def _async_validate_ctek(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> tuple[str, str] | None:
        """Check the topics, then wait for the charger to publish.

        Return the base topic and the charger id (learnt from the first
        message when the user left it empty), or None with ``errors`` filled.
        """
        try:
            base_topic = normalize_base_topic(user_input[CONF_BASE_TOPIC])
        except CtekTopicError:
            errors[CONF_BASE_TOPIC] = "invalid_topic"
            return None
        charger_id = _ANY_CHARGER
        if user_input.get(CONF_CHARGER_ID, "").strip():
            try:
                charger_id = validate_charger_id(user_input[CONF_CHARGER_ID])
                subscription_topic(base_topic, charger_id)
            except CtekTopicError:
                errors[CONF_CHARGER_ID] = "invalid_topic"
                return None
        if (found := await self._async_probe(base_topic, charger_id)) is None:
            errors["base"] = "no_data"
            return None
        return base_topic, found

    async def _async_probe(self, base_topic: str, charger_id: str) -> str | None:
        """Return the id of a charger that publishes usable data, or None."""
        found: asyncio.Future[str] = self.hass.loop.create_future()

        @callback
        def message_received(msg: mqtt.ReceiveMessage) -> None:
            cbid = msg.topic.removeprefix(f"{base_topic}/").partition("/")[0]
            try:
                charger = CtekCharger(base_topic, cbid)
                if charger.handle_message(msg.topic, msg.payload) and not found.done():
                    found.set_result(cbid)
            except CtekError:
                return

        unsubscribe = await mqtt.async_subscribe(
            self.hass,
            subscription_topic(base_topic, charger_id),
            message_received,
            qos=0,
        )
        try:
            async with asyncio.timeout(PROBE_TIMEOUT.total_seconds()):
                return await found
        except TimeoutError:
            return None
        finally:
            unsubscribe()

    @override
    async def async_step_mqtt(
        self, discovery_info: MqttServiceInfo
    ) -> ConfigFlowResult:
        """Handle a Chargestorm found by its messages."""
        levels = discovery_info.topic.split("/")
        if len(levels) < 4:  # noqa: PLR2004 - <base>/<CBID>/<part>/<kind>
            return self.async_abort(reason="invalid_discovery_info")
        base_topic, charger_id = "/".join(levels[:-3]), levels[-3]
        try:
            if not CtekCharger(base_topic, charger_id).handle_message(
                discovery_info.topic, discovery_info.payload
            ):
                return self.async_abort(reason="invalid_discovery_info")
        except CtekError:
            return self.async_abort(reason="invalid_discovery_info")
        await self.async_set_unique_id(charger_id)
        self._abort_if_unique_id_configured(updates={CONF_BASE_TOPIC: base_topic})
        self._discovered = {CONF_BASE_TOPIC: base_topic, CONF_CHARGER_ID: charger_id}
        self.context["title_placeholders"] = {"name": ctek_title(charger_id)}
        return await self.async_step_mqtt_confirm()

    async def async_step_mqtt_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user to confirm a discovered charger."""
        charger_id = self._discovered[CONF_CHARGER_ID]
        if user_input is not None:
            return self.async_create_entry(
                title=ctek_title(charger_id),
                data={CONF_TYPE: "ctek", **self._discovered},
            )
        return self.async_show_form(
            step_id="mqtt_confirm",
            description_placeholders={
                "name": ctek_title(charger_id),
                "topic": self._discovered[CONF_BASE_TOPIC],
            },
        )


_PROBE_ERRORS: Final = {
    CtekModbusProbeResult.NOTHING_LISTENING: "cannot_connect",
    CtekModbusProbeResult.NOT_ANSWERING: "modbus_not_answering",
    CtekModbusProbeResult.NO_AUTOMATION_API: "no_automation_api",
    CtekModbusProbeResult.WRONG_API_VERSION: "wrong_api_version",
    CtekModbusProbeResult.WRONG_UNIT_ID: "wrong_unit_id",
    CtekModbusProbeResult.DEVICE_ERROR: "modbus_device_error",
}
# Where each finding shows: on the host, on the form, or (wrong unit id) on
# the EVSE's field.
_PROBE_FIELDS: Final = {
    CtekModbusProbeResult.NOTHING_LISTENING: CONF_HOST,
    CtekModbusProbeResult.NOT_ANSWERING: CONF_HOST,
    CtekModbusProbeResult.NO_AUTOMATION_API: "base",
    CtekModbusProbeResult.WRONG_API_VERSION: CONF_API_VERSION,
    CtekModbusProbeResult.DEVICE_ERROR: "base",
}
_UNIT_ID = vol.All(vol.Coerce(int), vol.Range(min=0, max=247))


class CtekOptionsFlow(OptionsFlowWithReload):
    """How fresh data must be; and control over Modbus, if the user wants it."""

    _options: dict[str, Any]

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how long a part may stay silent, and whether to control."""
        if user_input is not None:
            self._options = {**self.config_entry.options, **user_input}
            if user_input[CONF_MODBUS]:
                return await self.async_step_modbus()
            return self.async_create_entry(data=self._options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_STALE_AFTER): seconds_selector(
                            MIN_STALE_AFTER, MAX_STALE_AFTER
                        ),
                        vol.Required(CONF_MODBUS): selector.BooleanSelector(),
                    }
                ),
                {
                    CONF_STALE_AFTER: DEFAULT_STALE_AFTER.total_seconds(),
                    CONF_MODBUS: False,
                    **self.config_entry.options,
                },
            ),
        )

    async def async_step_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where the CCU's Modbus TCP server is, and which unit is which EVSE."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                user_input[CONF_HOST] = normalize_host(user_input[CONF_HOST])
            except ValueError:
                errors[CONF_HOST] = "invalid_host"
            else:
                await self._async_probe(user_input, errors)
            if not errors:
                return self.async_create_entry(data={**self._options, **user_input})
        return self.async_show_form(
            step_id="modbus",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_HOST): selector.TextSelector(),
                        vol.Required(CONF_PORT): cv.port,
                        vol.Required(CONF_API_VERSION): selector.SelectSelector(
                            selector.SelectSelectorConfig(
                                options=[str(api.value) for api in CtekModbusApi],
                                translation_key=CONF_API_VERSION,
                            )
                        ),
                        **{
                            vol.Required(field): _UNIT_ID
                            for field in EVSE_UNIT_FIELDS.values()
                        },
                    }
                ),
                user_input
                or {
                    CONF_PORT: MODBUS_PORT,
                    CONF_API_VERSION: str(CtekModbusApi.V1.value),
                    EVSE_UNIT_FIELDS[1]: 1,
                    EVSE_UNIT_FIELDS[2]: 2,
                    **self._options,
                },
            ),
            errors=errors,
        )

    async def _async_probe(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> None:
        """Ask each configured unit for the automation API; fill ``errors``."""
        units = {
            field: user_input[field]
            for field in EVSE_UNIT_FIELDS.values()
            if user_input[field]
        }
        if not units:
            errors["base"] = "no_unit_ids"
            return
        try:
            async with CtekModbusClient(
                host=user_input[CONF_HOST],
                port=user_input[CONF_PORT],
                api=CtekModbusApi(int(user_input[CONF_API_VERSION])),
            ) as client:
                for field, unit_id in units.items():
                    probe = await client.probe(unit_id)
                    if probe.result is not CtekModbusProbeResult.OK:
                        errors[_PROBE_FIELDS.get(probe.result, field)] = _PROBE_ERRORS[
                            probe.result
                        ]
                        return
        except Exception:  # noqa: BLE001 - the last resort of a config flow
            LOGGER.exception("Unexpected error probing Modbus on the Chargestorm")
            errors["base"] = "unknown"
