"""The CTEK topic rules agree with Home Assistant's MQTT integration.

The protocol layer re-implements Home Assistant's topic checks (it may not
import Home Assistant); these properties hold the two together.
"""

from homeassistant.components.mqtt.util import (
    valid_publish_topic,
    valid_subscribe_topic,
)
from hypothesis import example, given, strategies as st
import probatio as vol

from custom_components.evse_bridge.api.ctek import (
    CtekTopicError,
    normalize_base_topic,
    subscription_topic,
    validate_charger_id,
)

# Text that mixes plain letters with what MQTT treats specially.
LEVELS = st.text(
    st.characters() | st.sampled_from("/+#\x00\x1f\x7f\x85\ud800\ufdd0\ufffe "),
    max_size=12,
)


@given(LEVELS, LEVELS)
@example("CTEK", "91728M03W4010406")
@example("home/ctek\x1b", "id")
@example("CTEK", "id\ud800")
def test_accepted_topics_are_valid_for_home_assistant(
    base_topic: str, charger_id: str
) -> None:
    """A subscription built from accepted levels is one Home Assistant accepts."""
    try:
        base = normalize_base_topic(base_topic)
        topic = subscription_topic(base, validate_charger_id(charger_id, base))
    except CtekTopicError:
        return
    assert valid_subscribe_topic(topic) == topic


@given(LEVELS.filter(lambda level: not set(level) & set("/+#")))
@example("a\x01b")
@example("a\ufdd0b")
def test_levels_home_assistant_refuses_are_refused(level: str) -> None:
    """A level Home Assistant's MQTT integration refuses is refused here too.

    Blanks around a level are dropped first, as the config flow does.
    """
    level = level.strip()
    try:
        valid_publish_topic(f"CTEK/{level}")
    except vol.Invalid:
        refused = True
    else:
        refused = False
    if refused and level:
        try:
            validate_charger_id(level)
        except CtekTopicError:
            return
        raise AssertionError(level)
