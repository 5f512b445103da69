"""What hassfest and the HACS action would check, as far as it matters here."""

import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.components.mqtt import valid_subscribe_topic
from homeassistant.const import __version__ as ha_version
import pytest
import yaml

from custom_components.evse_bridge import (
    binary_sensor,
    button,
    number,
    select,
    sensor,
    switch,
)
from custom_components.evse_bridge.api.chargers import MENNEKES_MODES
from custom_components.evse_bridge.backends import KINDS, ChargerBackend
from custom_components.evse_bridge.const import DOMAIN

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN


def load_json(path: Path) -> Any:
    """Read a JSON file of the repository."""
    return json.loads(path.read_text())


EN = load_json(INTEGRATION / "translations" / "en.json")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Return {"a.b.c": text} for a nested translation tree."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_manifest() -> None:
    """The manifest has what HACS and hassfest require."""
    manifest = load_json(INTEGRATION / "manifest.json")
    for key in (
        "domain",
        "name",
        "version",
        "documentation",
        "issue_tracker",
        "codeowners",
    ):
        assert manifest[key], key
    assert manifest["domain"] == DOMAIN
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_push"
    # Several kinds of entry, and the OCPP server and the charger hub have
    # many devices behind one entry: a hub, as core defines it.
    assert manifest["integration_type"] == "hub"
    # Home Assistant adds the integration's own package (and so api/) itself;
    # these are the libraries imported at run time that log.
    assert manifest["loggers"] == ["ocpp", "pymodbus"]
    for requirement in manifest["requirements"]:
        assert re.split(r"[<>=!~]", requirement)[0] in manifest["loggers"]
    assert "mqtt" in manifest["dependencies"]
    AwesomeVersion(manifest["version"])
    for topic in manifest["mqtt"]:
        valid_subscribe_topic(topic)
    assert list(manifest) == [
        "domain",
        "name",
        *sorted(set(manifest) - {"domain", "name"}),
    ]


def test_hacs_minimum_version_is_the_tested_one() -> None:
    """hacs.json names the Home Assistant version the tests run on."""
    hacs = load_json(ROOT / "hacs.json")
    assert hacs["name"] == "EVSE Bridge"
    assert AwesomeVersion(ha_version) >= AwesomeVersion(hacs["homeassistant"])
    assert hacs["homeassistant"].rsplit(".", 1)[0] == ha_version.rsplit(".", 1)[0]


@pytest.mark.parametrize("language", ["sv"])
def test_translations_match_english(language: str) -> None:
    """Other languages have exactly the English keys and placeholders."""
    english = flatten(EN)
    other = flatten(load_json(INTEGRATION / "translations" / f"{language}.json"))
    assert set(other) == set(english)
    for key, text in english.items():
        assert set(re.findall(r"{\w+}", other[key])) == set(
            re.findall(r"{\w+}", text)
        ), key


def test_entity_translations_exist() -> None:
    """Every translation key and enum state an entity uses is translated."""
    for platform, descriptions in (
        (
            "sensor",
            [
                *sensor.SENSORS,
                *(
                    d
                    for kind in KINDS.values()
                    if isinstance(kind, ChargerBackend)
                    for d in kind.sensors
                ),
            ],
        ),
        ("binary_sensor", binary_sensor.CONNECTOR_BINARY_SENSORS),
        ("number", (number.CURRENT_LIMIT,)),
        ("select", (select.OPERATING_MODE,)),
        ("switch", switch.SWITCHES),
        ("button", (*button.BUTTONS, *button.CHARGER_BUTTONS)),
    ):
        for description in descriptions:
            if description.translation_key is None:
                assert description.device_class is not None, description.key
                continue
            assert description.key == description.translation_key
            translation = EN["entity"][platform][description.translation_key]
            assert translation["name"]
            for option in getattr(description, "options", None) or []:
                assert translation["state"][option], option
    # The operating modes come from the charger's capabilities.
    for mode in MENNEKES_MODES:
        assert EN["entity"]["select"]["operating_mode"]["state"][mode]


def test_flow_texts_exist() -> None:
    """Every abort reason, error and exception the code uses is translated."""
    code = "\n".join(path.read_text() for path in INTEGRATION.rglob("*.py"))
    for reason in re.findall(r'reason="(\w+)"', code):
        assert reason in EN["config"]["abort"], reason
    for error in re.findall(r'errors\[[^\]]+\] = "(\w+)"', code):
        assert error in EN["config"]["error"] or error in EN["options"]["error"], error
    for key in re.findall(
        r'translation_domain=DOMAIN,\s*translation_key="(\w+)"', code
    ):
        assert key in EN["exceptions"], key
    # Home Assistant reads exceptions.<key>.message: a bare text is never shown.
    for key, exception in EN["exceptions"].items():
        assert exception["message"], key
    for step in re.findall(r'step_id="(\w+)"', code):
        assert step in EN["config"]["step"] or step in EN["options"]["step"], step


def test_icons_refer_to_translated_entities() -> None:
    """icons.json names only entities and states that exist."""
    icons = load_json(INTEGRATION / "icons.json")
    for platform, entities in icons["entity"].items():
        for key, icon in entities.items():
            translation = EN["entity"][platform][key]
            for state in icon.get("state", {}):
                assert state in ("on", "off") or state in translation["state"], state


QUALITY_RULES = [
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow-test-coverage",
    "config-flow",
    "dependency-transparency",
    "docs-actions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    "devices",
    "diagnostics",
    "discovery-update-info",
    "discovery",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    "async-dependency",
    "inject-websession",
    "strict-typing",
]


def test_quality_scale_lists_every_rule() -> None:
    """quality_scale.yaml grades every rule; exemptions and todos say why."""
    text = (INTEGRATION / "quality_scale.yaml").read_text()
    rules = yaml.safe_load(text)["rules"]
    assert set(QUALITY_RULES) <= set(rules)
    for rule, grade in rules.items():
        status = grade if isinstance(grade, str) else grade["status"]
        assert status in ("done", "todo", "exempt"), rule
        if status != "done":
            assert isinstance(grade, dict), rule
            assert grade["comment"], rule


def test_brand_images() -> None:
    """The local brand folder has the icon and logo HACS shows."""
    for name in ("icon.png", "logo.png"):
        assert (INTEGRATION / "brand" / name).read_bytes().startswith(b"\x89PNG")
