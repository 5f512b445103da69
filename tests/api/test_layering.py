"""The protocol layer, the smart-charging engine and the simulators stay HA-free.

Relative imports count too: a module of the protocol layer may import its own
package's modules, never the integration's Home Assistant side.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
INTEGRATION = "custom_components.evse_bridge"
# Packages inside the integration that import nothing from Home Assistant.
FREE_PACKAGES = (f"{INTEGRATION}.api", f"{INTEGRATION}.smart")
FREE_OF_HOME_ASSISTANT = sorted(
    [
        *(ROOT / "custom_components" / "evse_bridge" / "api").rglob("*.py"),
        *(ROOT / "custom_components" / "evse_bridge" / "smart").rglob("*.py"),
        *(ROOT / "simulation").rglob("*.py"),
        *(ROOT / "simulators").rglob("*.py"),
    ]
)


def module_name(path: Path) -> str:
    """Return the dotted name of a module (a package's is its own)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Return every module a file imports, relative imports made absolute."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if not node.level:
                imported.add(node.module or "")
                continue
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            if node.module:
                imported.add(target)
            else:
                imported.update(f"{target}.{alias.name}" for alias in node.names)
    return imported


@pytest.mark.parametrize("path", FREE_OF_HOME_ASSISTANT, ids=lambda path: path.name)
def test_no_home_assistant_imports(path: Path) -> None:
    """A module of the protocol layer imports nothing from Home Assistant."""
    imported = imported_modules(path)
    assert not {name for name in imported if name.split(".")[0] == "homeassistant"}
    leaks = {
        name
        for name in imported
        if name.startswith(f"{INTEGRATION}.")
        and not name.startswith(tuple(f"{free}." for free in FREE_PACKAGES))
        and name not in FREE_PACKAGES
    }
    assert not leaks, f"{path.name} imports the Home Assistant side: {leaks}"


def test_relative_imports_are_resolved() -> None:
    """The check sees through ``from ..x import y`` and ``from . import y``."""
    api = ROOT / "custom_components" / "evse_bridge" / "api"
    assert f"{INTEGRATION}.api.model" in imported_modules(api / "control.py")
    entity = ROOT / "custom_components" / "evse_bridge" / "backends" / "base.py"
    resolved = imported_modules(entity)
    assert f"{INTEGRATION}.coordinator" in resolved
    assert f"{INTEGRATION}.api.control" in resolved
