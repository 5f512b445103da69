"""The protocol layer, the smart-charging engine and the simulators stay HA-free."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
FREE_OF_HOME_ASSISTANT = sorted(
    [
        *(ROOT / "custom_components" / "evse_bridge" / "api").rglob("*.py"),
        *(ROOT / "custom_components" / "evse_bridge" / "smart").rglob("*.py"),
        *(ROOT / "simulation").rglob("*.py"),
        *(ROOT / "simulators").rglob("*.py"),
    ]
)


@pytest.mark.parametrize("path", FREE_OF_HOME_ASSISTANT, ids=lambda path: path.name)
def test_no_home_assistant_imports(path: Path) -> None:
    """A module of an HA-free package imports nothing from Home Assistant."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] == "homeassistant"}
