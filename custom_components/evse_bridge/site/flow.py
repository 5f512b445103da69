"""Setting a site up: the fuse, the meter, prices and solar, the chargers.

The same three forms serve the set-up, the options and reconfiguration:
``site`` (fuse, phases, voltage, kind of meter), ``site_meter`` (the sensors,
prices and solar) and ``site_chargers`` (which connectors, in priority order,
and what to do while the meter is silent). The entry's data holds the name;
its options hold everything else.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.util import slugify
import probatio as vol

from ..const import CONF_TYPE
from ..hub import ConnectorRef, async_get_hub
from ..smart import Fallback
from .config import connector_key
from .const import (
    CONF_CONNECTORS,
    CONF_FALLBACK,
    CONF_FALLBACK_CURRENT,
    CONF_FUSE,
    CONF_GRID_POWER,
    CONF_METER_KIND,
    CONF_METER_L1,
    CONF_METER_VOLTAGE,
    CONF_PHASES,
    CONF_PRICE,
    CONF_PV_FORECAST,
    CONF_PV_POWER,
    CONF_SIGN,
    CONF_VOLTAGE,
    CONF_WINDOW_END,
    CONF_WINDOW_START,
    MAX_FUSE_A,
    METER_PHASE_KEYS,
    MIN_FUSE_A,
    SITE,
    MeterKind,
    Sign,
)

type Values = dict[str, Any]

ENTITY_KEYS = (
    *METER_PHASE_KEYS,
    CONF_METER_VOLTAGE,
    CONF_GRID_POWER,
    CONF_PV_POWER,
    CONF_PV_FORECAST,
    CONF_PRICE,
)


def _number(low: float, high: float, unit: str) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=low,
            max=high,
            step=1,
            unit_of_measurement=unit,
            mode=selector.NumberSelectorMode.BOX,
        )
    )


def _choice(key: str, options: list[str]) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options, translation_key=key, mode=selector.SelectSelectorMode.LIST
        )
    )


def _sensor(device_class: str | None = None) -> selector.EntitySelector:
    config = selector.EntitySelectorConfig(domain="sensor")
    if device_class is not None:
        config["device_class"] = device_class
    return selector.EntitySelector(config)


def _site_schema(*, with_name: bool) -> vol.Schema:
    name = {vol.Required(CONF_NAME): selector.TextSelector()} if with_name else {}
    return vol.Schema(
        {
            **name,
            # The selector's range is the widest; the flow explains a fuse too
            # small to charge on.
            vol.Required(CONF_FUSE): _number(1, MAX_FUSE_A, "A"),
            vol.Required(CONF_PHASES): _choice(CONF_PHASES, ["1", "3"]),
            vol.Required(CONF_VOLTAGE): _number(100, 400, "V"),
            vol.Required(CONF_METER_KIND): _choice(CONF_METER_KIND, list(MeterKind)),
        }
    )


def _meter_schema(kind: MeterKind, phases: int) -> vol.Schema:
    device_class = "current" if kind is MeterKind.CURRENT else "power"
    fields: dict[vol.Marker, Any] = {
        (vol.Required if key == CONF_METER_L1 else vol.Optional)(key): _sensor(
            device_class
        )
        for key in METER_PHASE_KEYS[:phases]
    }
    if kind is MeterKind.POWER:
        fields[vol.Optional(CONF_METER_VOLTAGE)] = _sensor("voltage")
    return vol.Schema(
        {
            **fields,
            vol.Required(CONF_SIGN): _choice(CONF_SIGN, list(Sign)),
            vol.Optional(CONF_GRID_POWER): _sensor("power"),
            vol.Optional(CONF_PV_POWER): _sensor("power"),
            vol.Optional(CONF_PV_FORECAST): _sensor(),
            vol.Optional(CONF_PRICE): _sensor(),
            vol.Optional(CONF_WINDOW_START): selector.TimeSelector(),
            vol.Optional(CONF_WINDOW_END): selector.TimeSelector(),
        }
    )


def _connector_options(
    hass: HomeAssistant, chosen: list[str]
) -> list[selector.SelectOptionDict]:
    """Return the connectors the site can drive, and those it already has."""
    options = {
        connector_key(ref): f"{handle.name}, connector {part.number}"
        for handle in async_get_hub(hass).chargers.values()
        for part in handle.connectors()
        if (capabilities := handle.capabilities(part.number)).current_limit
        or capabilities.pause_resume
        for ref in [ConnectorRef(handle.charger_id, part.number)]
    }
    for key in chosen:
        options.setdefault(key, key)
    return [
        selector.SelectOptionDict(value=key, label=label)
        for key, label in options.items()
    ]


def _chargers_schema(hass: HomeAssistant, chosen: list[str]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_CONNECTORS): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=_connector_options(hass, chosen),
                    multiple=True,
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_FALLBACK): _choice(CONF_FALLBACK, list(Fallback)),
            vol.Required(CONF_FALLBACK_CURRENT): _number(6, 32, "A"),
        }
    )


def _check_site(values: Values) -> dict[str, str]:
    if values[CONF_FUSE] < MIN_FUSE_A:
        return {CONF_FUSE: "fuse_too_small"}
    return {}


def _check_meter(hass: HomeAssistant, values: Values, phases: int) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in METER_PHASE_KEYS[:phases]:
        if not values.get(key):
            errors[key] = "phase_sensor_missing"
    for key in ENTITY_KEYS:
        if (entity_id := values.get(key)) and hass.states.get(entity_id) is None:
            errors[key] = "entity_not_found"
    if bool(values.get(CONF_WINDOW_START)) != bool(values.get(CONF_WINDOW_END)):
        errors["base"] = "window_incomplete"
    return errors


class _SiteForms:
    """The three forms, shared by the config flow and the options flow."""

    hass: HomeAssistant
    _values: Values

    _async_done: Callable[[], Awaitable[ConfigFlowResult]]
    """Create, or update, the entry from the values."""
    _form: Callable[[str, vol.Schema, Values, dict[str, str]], ConfigFlowResult]
    """Show one of the forms."""

    async def _async_site(
        self, user_input: Values | None, *, with_name: bool
    ) -> ConfigFlowResult | None:
        """Return the form again, or None once the input is good."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_site(user_input)
            if not errors:
                self._values |= user_input
                return None
        return self._form(
            "site",
            _site_schema(with_name=with_name),
            user_input or self._values,
            errors,
        )

    async def async_step_site_meter(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Ask for the meter's sensors, prices and solar."""
        phases = int(self._values[CONF_PHASES])
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _check_meter(self.hass, user_input, phases)
            if not errors:
                for key in (*ENTITY_KEYS, CONF_WINDOW_START, CONF_WINDOW_END):
                    self._values.pop(key, None)  # an optional field left empty
                self._values |= user_input
                return await self.async_step_site_chargers()
        schema = _meter_schema(MeterKind(self._values[CONF_METER_KIND]), phases)
        return self._form("site_meter", schema, user_input or self._values, errors)

    async def async_step_site_chargers(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Ask which connectors the site drives, and the fallback."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if not user_input[CONF_CONNECTORS]:
                errors[CONF_CONNECTORS] = "no_connectors"
            else:
                self._values |= user_input
                return await self._async_done()
        chosen = list(self._values.get(CONF_CONNECTORS, []))
        return self._form(
            "site_chargers",
            _chargers_schema(self.hass, chosen),
            user_input or self._values,
            errors,
        )


DEFAULTS: Values = {
    CONF_PHASES: "3",
    CONF_VOLTAGE: 230,
    CONF_METER_KIND: MeterKind.CURRENT.value,
    CONF_SIGN: Sign.IMPORT_POSITIVE.value,
    CONF_FALLBACK: Fallback.PAUSE.value,
    CONF_FALLBACK_CURRENT: 6,
}


class SiteFlow(_SiteForms, ConfigFlow):
    """Set a site up, or reconfigure it."""

    async def async_step_site(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's name, main fuse, phases, voltage and kind of meter."""
        if not _connector_options(self.hass, []):
            return self.async_abort(reason="no_chargers")
        if user_input is None:
            self._values = dict(DEFAULTS)
        else:
            await self.async_set_unique_id(f"{SITE}_{slugify(user_input[CONF_NAME])}")
            self._abort_if_unique_id_configured()
        form = await self._async_site(user_input, with_name=True)
        return form or await self.async_step_site_meter()

    async def async_step_site_reconfigure(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Change any setting of a site; it reloads afterwards."""
        if user_input is None:
            self._values = dict(self._get_reconfigure_entry().options)
        form = await self._async_site(user_input, with_name=False)
        return form or await self.async_step_site_meter()

    def _form(
        self, step_id: str, schema: vol.Schema, values: Values, errors: dict[str, str]
    ) -> ConfigFlowResult:
        if step_id == "site" and self.source == SOURCE_RECONFIGURE:
            step_id = "site_reconfigure"
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=errors,
        )

    async def _async_done(self) -> ConfigFlowResult:
        values = dict(self._values)
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), options=values
            )
        name = values.pop(CONF_NAME)
        return self.async_create_entry(
            title=name, data={CONF_TYPE: SITE, CONF_NAME: name}, options=values
        )


class SiteOptionsFlow(_SiteForms, OptionsFlowWithReload):
    """Change any setting of a site; it reloads afterwards."""

    async def async_step_init(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Start with the site's own settings."""
        return await self.async_step_site()

    async def async_step_site(
        self, user_input: Values | None = None
    ) -> ConfigFlowResult:
        """Ask for the main fuse, phases, voltage and kind of meter."""
        if user_input is None:
            self._values = dict(self.config_entry.options)
        form = await self._async_site(user_input, with_name=False)
        return form or await self.async_step_site_meter()

    def _form(
        self, step_id: str, schema: vol.Schema, values: Values, errors: dict[str, str]
    ) -> ConfigFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, values),
            errors=errors,
        )

    async def _async_done(self) -> ConfigFlowResult:
        return self.async_create_entry(data=self._values)
