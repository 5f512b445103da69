"""Profile Home Assistant's event loop on demand, for the benchmarks.

``bench_probe.start`` enables cProfile (CPU time of the process) on the
event loop's thread; ``bench_probe.stop`` disables it and writes the stats
to ``path`` (pstats format). ``bench_probe.collect`` runs a full garbage
collection, so that a measurement starts with none pending.
"""

import cProfile
import gc
import time

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_probe"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the start, stop and collect services."""
    profiles: list[cProfile.Profile] = []

    @callback
    def start(call: ServiceCall) -> None:
        profile = cProfile.Profile(time.process_time)
        profiles.append(profile)
        profile.enable()

    async def stop(call: ServiceCall) -> None:
        while profiles:
            profile = profiles.pop()
            profile.disable()
            await hass.async_add_executor_job(
                profile.dump_stats, str(call.data["path"])
            )

    @callback
    def collect(call: ServiceCall) -> None:
        gc.collect()

    hass.services.async_register(DOMAIN, "start", start)
    hass.services.async_register(DOMAIN, "stop", stop)
    hass.services.async_register(DOMAIN, "collect", collect)
    return True
