"""The floor of P1: a subscription through Home Assistant's MQTT integration.

Its callback parses the JSON and does nothing else, so what Home Assistant
spends per message with it is what the MQTT receive path costs anyway.

Configure with ``bench_floor: {topic: "CTEK/FLOOR1/+/+"}``.
"""

import json

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_floor"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Subscribe to the configured topic filter."""
    topic = str(config[DOMAIN]["topic"])

    @callback
    def received(msg: mqtt.ReceiveMessage) -> None:
        json.loads(msg.payload)

    if not await mqtt.async_wait_for_mqtt_client(hass):
        return False
    await mqtt.async_subscribe(hass, topic, received, qos=0)
    return True
