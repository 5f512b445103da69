"""Setting up the OCPP server, and accepting the charge points that connect."""

import re
import socket
import ssl
from typing import Any, Final, override

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_PASSWORD, CONF_PATH, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.helpers.typing import DiscoveryInfoType
import probatio as vol

from ...api.model import DEFAULT_MAX_CURRENT_A, MIN_CURRENT_A
from ...api.ocpp import (
    DEFAULT_PATH,
    DEFAULT_PORT,
    MAX_CURRENT_A,
    valid_charge_point_id,
    valid_path,
)
from ...const import CONF_TYPE
from .central import async_get_central, charger_unique_id, parse_id_tags, ssl_context
from .const import (
    CHARGER_KIND,
    CONF_CERTFILE,
    CONF_CHARGE_POINT_ID,
    CONF_CONFIGURE_METER_VALUES,
    CONF_ID_TAGS,
    CONF_KEYFILE,
    CONF_MANUFACTURER,
    CONF_MAX_CURRENT,
    CONF_MODEL,
    CONF_NEW_CHARGE_POINTS,
    SERVER_KIND,
    SERVER_UNIQUE_ID,
    NewChargePoints,
)

SERVER_TITLE: Final = "OCPP server"
_NOT_SHOWN: Final = re.compile(r"[^\w .,+/()-]")
"""What a charge point's make and model may not bring into the dialog, whose
text is markdown: no links, images or markup from the network."""
MAX_ID_TAG_CHARS: Final = 20
"""An OCPP 1.6 IdToken is at most 20 characters."""
DEFAULT_OPTIONS: Final[dict[str, Any]] = {
    CONF_PORT: DEFAULT_PORT,
    CONF_PATH: DEFAULT_PATH,
    CONF_NEW_CHARGE_POINTS: NewChargePoints.ASK.value,
    CONF_ID_TAGS: "",
    CONF_CONFIGURE_METER_VALUES: True,
}
_TEXT: Final = selector.TextSelector()
SERVER_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_PORT): cv.port,
        vol.Optional(CONF_PATH): _TEXT,
        vol.Required(CONF_NEW_CHARGE_POINTS): selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=[policy.value for policy in NewChargePoints],
                translation_key=CONF_NEW_CHARGE_POINTS,
            )
        ),
        vol.Optional(CONF_ID_TAGS): _TEXT,
        vol.Required(CONF_CONFIGURE_METER_VALUES): selector.BooleanSelector(),
        vol.Optional(CONF_CERTFILE): _TEXT,
        vol.Optional(CONF_KEYFILE): _TEXT,
    }
)


def port_free(port: int) -> bool:
    """Return whether a server could listen on ``port`` (blocking: binds, closes)."""
    with socket.socket() as sock:
        # As the server binds: a port left in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


async def async_validate_server(
    hass: HomeAssistant, user_input: dict[str, Any], listening_on: int | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the server's options from the form, and the errors by field.

    ``listening_on`` is the port the running server has: not checked again.
    """
    options = {
        **user_input,
        CONF_PATH: user_input.get(CONF_PATH, "").strip(),
        CONF_ID_TAGS: user_input.get(CONF_ID_TAGS, "").strip(),
        CONF_CERTFILE: user_input.get(CONF_CERTFILE, "").strip(),
        CONF_KEYFILE: user_input.get(CONF_KEYFILE, "").strip(),
    }
    errors: dict[str, str] = {}
    port = options[CONF_PORT]
    if port != listening_on and not await hass.async_add_executor_job(port_free, port):
        errors[CONF_PORT] = "port_in_use"
    if not valid_path(options[CONF_PATH]):
        errors[CONF_PATH] = "invalid_path"
    tags = parse_id_tags(options[CONF_ID_TAGS]) or frozenset()
    if any(len(tag) > MAX_ID_TAG_CHARS for tag in tags):
        errors[CONF_ID_TAGS] = "invalid_id_tags"
    certfile, keyfile = options[CONF_CERTFILE], options[CONF_KEYFILE]
    if bool(certfile) != bool(keyfile):
        errors[CONF_KEYFILE if certfile else CONF_CERTFILE] = "tls_needs_both"
    elif certfile:
        try:
            await hass.async_add_executor_job(ssl_context, certfile, keyfile)
        except OSError, ssl.SSLError, ValueError:
            errors[CONF_CERTFILE] = "invalid_certificate"
    return options, errors


PASSWORD_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_PASSWORD): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
        )
    }
)


def _plain(text: object) -> str:
    """Return a charge point's make or model as plain text of at most 20 characters."""
    return _NOT_SHOWN.sub("", str(text))[:MAX_ID_TAG_CHARS]


class OcppServerFlow(ConfigFlow):
    """Start the one OCPP server of this Home Assistant."""

    async def async_step_ocpp_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where to listen, and whom to let in."""
        await self.async_set_unique_id(SERVER_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = await async_validate_server(self.hass, user_input)
            if not errors:
                return self.async_create_entry(
                    title=SERVER_TITLE, data={CONF_TYPE: SERVER_KIND}, options=options
                )
        return self.async_show_form(
            step_id="ocpp_server",
            data_schema=self.add_suggested_values_to_schema(
                SERVER_SCHEMA, user_input or DEFAULT_OPTIONS
            ),
            errors=errors,
        )


class OcppServerOptionsFlow(OptionsFlowWithReload):
    """Change the server's settings; it restarts with them."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the server's settings."""
        return await self.async_step_ocpp_server()

    async def async_step_ocpp_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where to listen, and whom to let in."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = await async_validate_server(
                self.hass, user_input, self.config_entry.options[CONF_PORT]
            )
            if not errors:
                return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="ocpp_server",
            data_schema=self.add_suggested_values_to_schema(
                SERVER_SCHEMA, user_input or {**self.config_entry.options}
            ),
            errors=errors,
        )


class OcppChargerFlow(ConfigFlow):
    """Accept a charge point that connected to the server."""

    _charge_point: dict[str, str]

    async def async_step_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Explain that charge points are added when they connect."""
        central = async_get_central(self.hass)
        if central is None:
            return self.async_abort(reason="ocpp_server_first")
        scheme = "wss" if central.server.ssl_context is not None else "ws"
        return self.async_abort(
            reason="ocpp_connect_charger",
            description_placeholders={
                "url": f"{scheme}://<home assistant>:{central.server.port}"
                f"{central.server.path}/<charge point id>"
            },
        )

    @override
    async def async_step_integration_discovery(
        self, discovery_info: DiscoveryInfoType
    ) -> ConfigFlowResult:
        """Handle a charge point that connected for the first time."""
        charge_point_id = str(discovery_info.get(CONF_CHARGE_POINT_ID, ""))
        if not valid_charge_point_id(charge_point_id):
            return self.async_abort(reason="invalid_charge_point_id")
        await self.async_set_unique_id(charger_unique_id(charge_point_id))
        self._abort_if_unique_id_configured()
        self._charge_point = {
            CONF_CHARGE_POINT_ID: charge_point_id,
            CONF_MANUFACTURER: _plain(discovery_info.get(CONF_MANUFACTURER, "")),
            CONF_MODEL: _plain(discovery_info.get(CONF_MODEL, "")),
        }
        self.context["title_placeholders"] = {"name": charge_point_id}
        return await self.async_step_ocpp_confirm()

    async def async_step_ocpp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask whether the charge point may connect, and with which password."""
        charge_point = self._charge_point
        if user_input is not None:
            password = user_input.get(CONF_PASSWORD, "")
            return self.async_create_entry(
                title=charge_point[CONF_CHARGE_POINT_ID],
                data={
                    CONF_TYPE: CHARGER_KIND,
                    **charge_point,
                    **({CONF_PASSWORD: password} if password else {}),
                },
            )
        return self.async_show_form(
            step_id="ocpp_confirm",
            data_schema=PASSWORD_SCHEMA,
            description_placeholders={
                "id": charge_point[CONF_CHARGE_POINT_ID],
                "manufacturer": charge_point[CONF_MANUFACTURER],
                "model": charge_point[CONF_MODEL],
            },
        )

    async def async_step_ocpp_password(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set, change or remove an accepted charge point's password."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            data = {
                key: value for key, value in entry.data.items() if key != CONF_PASSWORD
            }
            if password := user_input.get(CONF_PASSWORD, ""):
                data[CONF_PASSWORD] = password
            return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="ocpp_password",
            data_schema=PASSWORD_SCHEMA,
            description_placeholders={"id": entry.data[CONF_CHARGE_POINT_ID]},
        )


class OcppChargerOptionsFlow(OptionsFlowWithReload):
    """The charger's rating: the most its connectors may be given."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the charger's options."""
        return await self.async_step_ocpp_charger()

    async def async_step_ocpp_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the charger's maximum current."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="ocpp_charger",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_MAX_CURRENT): selector.NumberSelector(
                            selector.NumberSelectorConfig(
                                min=MIN_CURRENT_A,
                                max=MAX_CURRENT_A,
                                step=1,
                                unit_of_measurement="A",
                                mode=selector.NumberSelectorMode.BOX,
                            )
                        )
                    }
                ),
                {CONF_MAX_CURRENT: DEFAULT_MAX_CURRENT_A, **self.config_entry.options},
            ),
        )
