"""Profile Home Assistant's event loop on demand, for the benchmarks.

``bench_probe.start`` enables cProfile (CPU time of the process) on the
event loop's thread; ``bench_probe.stop`` disables it and writes the stats
to ``path`` (pstats format).
"""

import cProfile
import time

from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_probe"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the start and stop services."""
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

    hass.services.async_register(DOMAIN, "start", start)
    hass.services.async_register(DOMAIN, "stop", stop)
    return True
