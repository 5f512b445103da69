"""Every text the site shows is translated."""

from custom_components.evse_bridge.site.entities import ENTITIES, HEADROOM
from custom_components.evse_bridge.smart import Mode, ReasonCode
from tests.test_manifest import EN


def test_entities_issues_and_states_are_translated() -> None:
    """Entity names, the mode and reason states and both repair issues."""
    for platform, entities in ENTITIES.items():
        for _, description in entities:
            assert description.key == description.translation_key
            assert EN["entity"][platform][description.key]["name"]
    assert EN["entity"]["sensor"][HEADROOM.key]["name"]
    for mode in Mode:
        assert EN["entity"]["select"]["mode"]["state"][mode]
    for code in ReasonCode:
        assert EN["entity"]["sensor"]["reason"]["state"][code]
    for issue in ("meter_unavailable", "meter_slow"):
        assert "{entity_id}" in EN["issues"][issue]["description"]
