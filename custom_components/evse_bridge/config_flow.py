"""Config flow for EVSE Bridge: pick a charger type, then set it up."""

import asyncio
from collections.abc import Mapping
from typing import Any, override

from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import callback
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import probatio as vol

from .api.chargers import (
    ChargerAuthenticationError,
    ChargerConnectionError,
    ChargerError,
)
from .api.ctek import (
    DEFAULT_BASE_TOPIC,
    CtekCharger,
    CtekError,
    CtekTopicError,
    normalize_base_topic,
    subscription_topic,
    validate_charger_id,
)
from .api.http import normalize_host
from .api.mennekes import DEFAULT_PORT as MENNEKES_PORT
from .api.model import ChargerInfo
from .const import (
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_POLL_INTERVAL,
    CONF_STALE_AFTER,
    CONF_VENDOR,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    LOGGER,
    MAX_POLL_INTERVAL,
    MAX_STALE_AFTER,
    MIN_POLL_INTERVAL,
    MIN_STALE_AFTER,
    PROBE_TIMEOUT,
    Vendor,
)
from .coordinator import EvseBridgeConfigEntry
from .helpers import create_polled_charger

# Any charger under the base topic; used when the user leaves the id empty.
_ANY_CHARGER = "+"


def _ctek_title(charger_id: str) -> str:
    return f"Chargestorm {charger_id}"


_LONG_SERIAL = 12


def _http_title(info: ChargerInfo) -> str:
    """Return "AMTRON 1234567890", "CirCarLife 4F81287C" and the like."""
    model = (info.model or info.manufacturer).split()[0]
    serial = info.serial_number
    # A Circontrol without a serial number is known by a long GUID.
    return f"{model} {serial if len(serial) <= _LONG_SERIAL else serial[-8:]}"


_TEXT = selector.TextSelector()
_SECRET = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_ADDRESS = {vol.Required(CONF_HOST): _TEXT, vol.Required(CONF_PORT): cv.port}
CREDENTIALS_SCHEMAS = {
    Vendor.CIRCONTROL: vol.Schema(
        {vol.Optional(CONF_USERNAME): _TEXT, vol.Optional(CONF_PASSWORD): _SECRET}
    ),
    Vendor.MENNEKES: vol.Schema({vol.Required(CONF_PIN): _SECRET}),
}
# The field at fault when a charger refuses the credentials.
CREDENTIAL_FIELD = {Vendor.CIRCONTROL: CONF_PASSWORD, Vendor.MENNEKES: CONF_PIN}
# CirCarLife serves plain HTTP on port 80; MHCP listens on 25000.
DEFAULT_PORTS = {Vendor.CIRCONTROL: 80, Vendor.MENNEKES: MENNEKES_PORT}


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
                charger_id = validate_charger_id(
                    user_input[CONF_CHARGER_ID], base_topic
                )
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

    async def async_step_circontrol(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set up a Circontrol CirCarLife wallbox over HTTP."""
        return await self._async_step_http(Vendor.CIRCONTROL, user_input)

    async def async_step_mennekes(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set up a Mennekes AMTRON over its local MHCP API."""
        return await self._async_step_http(Vendor.MENNEKES, user_input)

    async def _async_step_http(
        self, vendor: Vendor, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_VENDOR: vendor.value, **user_input}
            if info := await self._async_identify(data, errors):
                await self.async_set_unique_id(info.serial_number)
                self._abort_if_unique_id_configured(
                    updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
                )
                return self.async_create_entry(title=_http_title(info), data=data)
        return self.async_show_form(
            step_id=vendor.value,
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_ADDRESS).extend(CREDENTIALS_SCHEMAS[vendor].schema),
                user_input or {CONF_PORT: DEFAULT_PORTS[vendor]},
            ),
            errors=errors,
        )

    async def _async_identify(
        self, data: dict[str, Any], errors: dict[str, str]
    ) -> ChargerInfo | None:
        """Ask the charger who it is; None with ``errors`` filled if that fails."""
        vendor = Vendor(data[CONF_VENDOR])
        try:
            data[CONF_HOST] = normalize_host(data[CONF_HOST])
            charger = create_polled_charger(self.hass, data)
        except ValueError:  # a host the clients cannot put in a URL
            errors[CONF_HOST] = "invalid_host"
            return None
        try:
            return await charger.get_info()
        except ChargerAuthenticationError:
            errors[CREDENTIAL_FIELD[vendor]] = "invalid_auth"
        except ChargerConnectionError:
            errors[CONF_HOST] = "cannot_connect"
        except ChargerError:
            errors["base"] = "not_a_charger"
        except Exception:  # noqa: BLE001 - the last resort of a config flow
            LOGGER.exception("Unexpected error while identifying a %s charger", vendor)
            errors["base"] = "unknown"
        return None

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication: the charger refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password or PIN again."""
        entry = self._get_reauth_entry()
        vendor = Vendor(entry.data[CONF_VENDOR])
        errors: dict[str, str] = {}
        if user_input is not None and (
            info := await self._async_identify(
                data := {**entry.data, **user_input}, errors
            )
        ):
            await self.async_set_unique_id(info.serial_number)
            self._abort_if_unique_id_mismatch(reason="different_device")
            return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=CREDENTIALS_SCHEMAS[vendor],
            errors=errors,
            description_placeholders={"name": entry.title},
        )

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
        """Change where the charger is: its topics, or its host and port."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_VENDOR] == Vendor.CTEK:
            return await self.async_step_ctek()
        errors: dict[str, str] = {}
        if user_input is not None and (
            info := await self._async_identify(
                data := {**entry.data, **user_input}, errors
            )
        ):
            await self.async_set_unique_id(info.serial_number)
            self._abort_if_unique_id_mismatch(reason="different_device")
            return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_ADDRESS), user_input or dict(entry.data)
            ),
            errors=errors,
        )


class EvseBridgeOptionsFlow(OptionsFlowWithReload):
    """Options of one charger: how fresh data must be, or how often to poll."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        vendor = Vendor(self.config_entry.data[CONF_VENDOR])
        if vendor is Vendor.CTEK:
            key, default, low, high = (
                CONF_STALE_AFTER,
                DEFAULT_STALE_AFTER,
                MIN_STALE_AFTER,
                MAX_STALE_AFTER,
            )
        else:
            key, default, low, high = (
                CONF_POLL_INTERVAL,
                DEFAULT_POLL_INTERVAL[vendor],
                MIN_POLL_INTERVAL[vendor],
                MAX_POLL_INTERVAL,
            )
        seconds = selector.NumberSelector(
            selector.NumberSelectorConfig(
                min=low.total_seconds(),
                max=high.total_seconds(),
                step=1,
                unit_of_measurement="s",
                mode=selector.NumberSelectorMode.BOX,
            )
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(key): seconds}),
                {key: default.total_seconds(), **self.config_entry.options},
            ),
        )
