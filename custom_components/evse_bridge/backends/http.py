"""What the HTTP chargers share: set-up by host and credentials, and polling."""

from abc import abstractmethod
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, selector
import probatio as vol

from ..api.chargers import CircontrolCharger, MennekesCharger
from ..api.errors import (
    ChargerAuthenticationError,
    ChargerConnectionError,
    ChargerError,
)
from ..api.http import base_url, normalize_host
from ..api.model import ChargerInfo
from ..const import (
    CONF_POLL_INTERVAL,
    CONF_TYPE,
    DOMAIN,
    LOGGER,
    MAX_POLL_INTERVAL,
)
from ..coordinator import ChargerConfigEntry, PolledCoordinator
from .base import Charger, ChargerBackend

type HttpCharger = CircontrolCharger | MennekesCharger

TEXT = selector.TextSelector()
SECRET = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)
_ADDRESS = {vol.Required(CONF_HOST): TEXT, vol.Required(CONF_PORT): cv.port}
# A Circontrol without a serial number is known by a long GUID.
_LONG_SERIAL = 12


class HttpBackend(ChargerBackend):
    """A charger with an HTTP API, polled."""

    reauth_step = "http_reauth"
    reconfigure_step = "http_reconfigure"
    default_port: ClassVar[int]
    credentials: ClassVar[vol.Schema]
    credential_field: ClassVar[str]
    """The field at fault when the charger refuses the credentials."""
    default_poll_interval: ClassVar[timedelta]
    min_poll_interval: ClassVar[timedelta]
    from_sessions: ClassVar[bool] = False
    """Whether its lifetime energy is built from session energy."""

    @abstractmethod
    def create_charger(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> HttpCharger:
        """Return the charger of an entry's data, on the shared HTTP session.

        Raise ValueError for a host that cannot be part of a URL.
        """

    @override
    async def async_create(
        self, hass: HomeAssistant, entry: ChargerConfigEntry
    ) -> Charger:
        """Identify the charger and poll it."""
        charger = self.create_charger(hass, entry.data)
        try:
            info = await charger.get_info()
        except ChargerAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ChargerError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        interval = timedelta(
            seconds=entry.options.get(
                CONF_POLL_INTERVAL, self.default_poll_interval.total_seconds()
            )
        )
        coordinator = PolledCoordinator(
            hass,
            entry,
            charger=charger,
            name=f"{info.manufacturer} {info.serial_number}",
            serial_number=info.serial_number,
            interval=interval,
            from_sessions=self.from_sessions,
        )
        host = normalize_host(entry.data[CONF_HOST])
        return Charger(
            info=info,
            coordinator=coordinator,
            control=charger,
            configuration_url=base_url(host, entry.data[CONF_PORT]),
        )

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the poll interval's options flow."""
        return HttpOptionsFlow(self)

    def title(self, info: ChargerInfo) -> str:
        """Return "AMTRON 1234567890", "CirCarLife 4F81287C" and the like."""
        model = (info.model or info.manufacturer).split()[0]
        serial = info.serial_number
        return f"{model} {serial if len(serial) <= _LONG_SERIAL else serial[-8:]}"


class HttpFlow(ConfigFlow):
    """Set-up, reauthentication and reconfiguration of an HTTP charger."""

    async def _async_step_http(
        self, backend: HttpBackend, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Ask for host, port and credentials; identify the charger."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_TYPE: backend.key, **user_input}
            if info := await self._async_identify(backend, data, errors):
                await self.async_set_unique_id(info.serial_number)
                self._abort_if_unique_id_configured(
                    updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
                )
                return self.async_create_entry(title=backend.title(info), data=data)
        return self.async_show_form(
            step_id=backend.key,
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(_ADDRESS).extend(backend.credentials.schema),
                user_input or {CONF_PORT: backend.default_port},
            ),
            errors=errors,
        )

    async def _async_identify(
        self, backend: HttpBackend, data: dict[str, Any], errors: dict[str, str]
    ) -> ChargerInfo | None:
        """Ask the charger who it is; None with ``errors`` filled if that fails."""
        try:
            data[CONF_HOST] = normalize_host(data[CONF_HOST])
            charger = backend.create_charger(self.hass, data)
        except ValueError:  # a host that cannot be part of a URL
            errors[CONF_HOST] = "invalid_host"
            return None
        try:
            return await charger.get_info()
        except ChargerAuthenticationError:
            errors[backend.credential_field] = "invalid_auth"
        except ChargerConnectionError:
            errors[CONF_HOST] = "cannot_connect"
        except ChargerError:
            errors["base"] = "not_a_charger"
        except Exception:  # noqa: BLE001 - the last resort of a config flow
            LOGGER.exception(
                "Unexpected error while identifying a %s charger", backend.key
            )
            errors["base"] = "unknown"
        return None

    async def async_step_http_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password or PIN again."""
        entry = self._get_reauth_entry()
        backend = _backend(entry)
        errors: dict[str, str] = {}
        if user_input is not None and (
            info := await self._async_identify(
                backend, data := {**entry.data, **user_input}, errors
            )
        ):
            await self.async_set_unique_id(info.serial_number)
            self._abort_if_unique_id_mismatch(reason="different_device")
            return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=backend.credentials,
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_http_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the charger's host and port."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None and (
            info := await self._async_identify(
                _backend(entry), data := {**entry.data, **user_input}, errors
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


def _backend(entry: ConfigEntry) -> HttpBackend:
    """Return the HTTP backend of an entry."""
    # The backends import this module: look them up when a flow runs.
    from . import KINDS  # noqa: PLC0415

    backend = KINDS[entry.data[CONF_TYPE]]
    assert isinstance(backend, HttpBackend)  # noqa: S101 - HTTP flows only
    return backend


class HttpOptionsFlow(OptionsFlowWithReload):
    """How often to poll an HTTP charger."""

    def __init__(self, backend: HttpBackend) -> None:
        """Keep the backend, for its bounds."""
        self._backend = backend

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the poll interval."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        backend = self._backend
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_POLL_INTERVAL): seconds_selector(
                            backend.min_poll_interval, MAX_POLL_INTERVAL
                        )
                    }
                ),
                {
                    CONF_POLL_INTERVAL: backend.default_poll_interval.total_seconds(),
                    **self.config_entry.options,
                },
            ),
        )


def seconds_selector(low: timedelta, high: timedelta) -> selector.NumberSelector:
    """Return a box for a number of seconds between two bounds."""
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=low.total_seconds(),
            max=high.total_seconds(),
            step=1,
            unit_of_measurement="s",
            mode=selector.NumberSelectorMode.BOX,
        )
    )
