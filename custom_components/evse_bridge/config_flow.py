"""Config flow for EVSE Bridge: pick a charger type, then set it up."""

import asyncio
from typing import Any, override

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.helpers import selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import probatio as vol

from .api.ctek import (
    DEFAULT_BASE_TOPIC,
    CtekCharger,
    CtekError,
    CtekTopicError,
    normalize_base_topic,
    subscription_topic,
    validate_charger_id,
)
from .const import (
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_STALE_AFTER,
    CONF_VENDOR,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    MAX_STALE_AFTER,
    MIN_STALE_AFTER,
    PROBE_TIMEOUT,
    Vendor,
)
from .coordinator import EvseBridgeConfigEntry

# Any charger under the base topic; used when the user leaves the id empty.
_ANY_CHARGER = "+"


def _ctek_title(charger_id: str) -> str:
    return f"Chargestorm {charger_id}"


class EvseBridgeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one charger per config entry."""

    VERSION = 1
    MINOR_VERSION = 1

    _discovered: dict[str, str]

    @staticmethod
    @callback
    @override
    def async_get_options_flow(
        config_entry: EvseBridgeConfigEntry,
    ) -> EvseBridgeOptionsFlow:
        """Return the options flow."""
        return EvseBridgeOptionsFlow()

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which kind of charger to add."""
        return self.async_show_menu(
            step_id="user", menu_options=[vendor.value for vendor in Vendor]
        )

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
                    CONF_VENDOR: Vendor.CTEK.value,
                    CONF_BASE_TOPIC: base_topic,
                    CONF_CHARGER_ID: charger_id,
                }
                if self.source == SOURCE_RECONFIGURE:
                    self._abort_if_unique_id_mismatch(reason="different_device")
                    return self.async_update_reload_and_abort(
                        self._get_reconfigure_entry(), data_updates=data
                    )
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=_ctek_title(charger_id), data=data)
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
            charger = CtekCharger(base_topic, cbid)
            try:
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
        """Handle a Chargestorm found by its status messages."""
        levels = discovery_info.topic.split("/")
        if len(levels) < 4:  # noqa: PLR2004 - <base>/<CBID>/<part>/status
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
        self.context["title_placeholders"] = {"name": _ctek_title(charger_id)}
        return await self.async_step_mqtt_confirm()

    async def async_step_mqtt_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user to confirm a discovered charger."""
        charger_id = self._discovered[CONF_CHARGER_ID]
        if user_input is not None:
            return self.async_create_entry(
                title=_ctek_title(charger_id),
                data={CONF_VENDOR: Vendor.CTEK.value, **self._discovered},
            )
        return self.async_show_form(
            step_id="mqtt_confirm",
            description_placeholders={
                "name": _ctek_title(charger_id),
                "topic": self._discovered[CONF_BASE_TOPIC],
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change where the charger publishes."""
        return await self.async_step_ctek()


class EvseBridgeOptionsFlow(OptionsFlowWithReload):
    """Options of one charger."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_STALE_AFTER): selector.NumberSelector(
                            selector.NumberSelectorConfig(
                                min=MIN_STALE_AFTER.total_seconds(),
                                max=MAX_STALE_AFTER.total_seconds(),
                                step=1,
                                unit_of_measurement="s",
                                mode=selector.NumberSelectorMode.BOX,
                            )
                        ),
                    }
                ),
                {
                    CONF_STALE_AFTER: DEFAULT_STALE_AFTER.total_seconds(),
                    **self.config_entry.options,
                },
            ),
        )
