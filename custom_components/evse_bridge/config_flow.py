"""Config flow for EVSE Bridge: pick a kind of entry, then set it up.

Each kind brings its own steps (a ConfigFlow mixin, see backends); the steps
here are the ones every kind shares: the menu, reauthentication,
reconfiguration and options.
"""

from collections.abc import Awaitable, Callable, Mapping
import types
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback

from .backends import KINDS, EntryKind
from .const import CONF_TYPE, DOMAIN


class EvseBridgeFlowSteps(ConfigFlow):
    """The steps every kind of entry shares."""

    VERSION = 1
    MINOR_VERSION = 2

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the options flow of the entry's kind."""
        options_flow = _kind(config_entry).options_flow(config_entry)
        assert options_flow is not None  # noqa: S101 - see async_supports_options_flow
        return options_flow

    @classmethod
    @callback
    @override
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Return whether the entry's kind has options (an ignored one has none)."""
        kind = KINDS.get(config_entry.data.get(CONF_TYPE, ""))
        return kind is not None and kind.options_flow(config_entry) is not None

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which kind of entry to add."""
        return self.async_show_menu(step_id="user", menu_options=list(KINDS))

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication: the charger refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the credentials again, as the entry's kind does."""
        step = _kind(self._get_reauth_entry()).reauth_step
        if step is None:
            return self.async_abort(reason="reauth_not_supported")
        return await self._step(step)(user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change where the entry's device is, as its kind does."""
        step = _kind(self._get_reconfigure_entry()).reconfigure_step
        if step is None:
            return self.async_abort(reason="reconfigure_not_supported")
        return await self._step(step)(user_input)

    def _step(
        self, step: str
    ) -> Callable[[dict[str, Any] | None], Awaitable[ConfigFlowResult]]:
        """Return a step of the entry's kind."""
        method: Callable[[dict[str, Any] | None], Awaitable[ConfigFlowResult]] = (
            getattr(self, f"async_step_{step}")
        )
        return method


def _kind(entry: ConfigEntry) -> EntryKind:
    return KINDS[entry.data[CONF_TYPE]]


# The flow has the shared steps and every kind's own.
EvseBridgeConfigFlow: type[EvseBridgeFlowSteps] = types.new_class(
    "EvseBridgeConfigFlow",
    (EvseBridgeFlowSteps, *(kind.flow for kind in KINDS.values())),
    {"domain": DOMAIN},
)
