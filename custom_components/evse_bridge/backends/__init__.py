"""Backends: every kind of entry, each declaring what is specific to it.

Adding a charger make means adding its protocol client, its simulator, its
module here and its line in KINDS; platforms, the integration's set-up and
the config flow are built from this registry.
"""

from ..export import EXPORT
from ..site.kind import KIND as SITE
from .base import Charger, ChargerBackend, EntryKind
from .circontrol import BACKEND as CIRCONTROL
from .ctek import BACKEND as CTEK
from .mennekes import BACKEND as MENNEKES
from .ocpp import BACKEND as OCPP, SERVER as OCPP_SERVER

__all__ = ["KINDS", "Charger", "ChargerBackend", "EntryKind"]

KINDS: dict[str, EntryKind] = {
    kind.key: kind
    for kind in (CTEK, CIRCONTROL, MENNEKES, OCPP_SERVER, OCPP, SITE, EXPORT)
}
