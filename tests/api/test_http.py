"""Tests of what the HTTP clients share: one host validation, URLs with IPv6."""

import pytest

from custom_components.evse_bridge.api.circontrol import CircontrolClient
from custom_components.evse_bridge.api.http import base_url, normalize_host
from custom_components.evse_bridge.api.mennekes import MennekesClient

REFUSED = [
    "",
    "   ",
    "http://192.0.2.20",
    "192.0.2.20/path",
    "192.0.2.20:80",
    "user@evse",
    "evse?x=1",
    "evse#x",
    "ev se",
    "evse\\garage",
    "wall\x00box",
    "wall\nbox",
    "[::1",
    "[evse]",
    "[192.0.2.20]",
    "fe80::1%eth0",
    "-evse",
    "evse-",
    "wallbox..lan",
    ".lan",
    "a" * 64 + ".lan",
    ("a" * 60 + ".") * 4 + "aaaaaaaaaaaaaaaaaaaa",
    "bücher.lan",
]


@pytest.mark.parametrize(
    ("host", "normalized"),
    [
        ("192.0.2.20", "192.0.2.20"),
        (" wallbox.lan ", "wallbox.lan"),
        ("Wallbox-Garage", "Wallbox-Garage"),
        ("wallbox_1.fritz.box.", "wallbox_1.fritz.box."),
        ("fd00::5", "fd00::5"),
        ("[fd00::5]", "fd00::5"),
        ("::ffff:192.0.2.20", "::ffff:192.0.2.20"),
        ("a" * 63, "a" * 63),
    ],
)
def test_hosts_accepted(host: str, normalized: str) -> None:
    """Addresses and DNS names are hosts; blanks and IPv6 brackets are dropped."""
    assert normalize_host(host) == normalized


@pytest.mark.parametrize("host", REFUSED)
def test_hosts_refused_by_both_clients(host: str) -> None:
    """Both clients refuse, by the same rules, what is not a bare host."""
    with pytest.raises(ValueError, match=r"[Hh]ost|IPv6"):
        normalize_host(host)
    with pytest.raises(ValueError, match=r"[Hh]ost|IPv6"):
        CircontrolClient(host=host)
    with pytest.raises(ValueError, match=r"[Hh]ost|IPv6"):
        MennekesClient(host=host, dev_key="1234")


def test_base_url_brackets_ipv6() -> None:
    """An IPv6 address is written in brackets in a URL; others are not."""
    assert base_url("fd00::5", 80) == "http://[fd00::5]:80"
    assert base_url("wallbox.lan", 25000) == "http://wallbox.lan:25000"
    assert base_url("192.0.2.20", 8080) == "http://192.0.2.20:8080"


async def test_both_clients_reach_an_ipv6_charger() -> None:
    """Each client builds its URLs with the IPv6 address in brackets."""
    circontrol = CircontrolClient(host="[fd00::5]")
    assert str(circontrol._url("/services/x.xml", [])).startswith(
        "http://[fd00::5]/services/x.xml"  # port 80 is HTTP's own
    )
    mennekes = MennekesClient(host="fd00::5", dev_key="1234")
    assert str(mennekes._url("ChargeData")).startswith(
        "http://[fd00::5]:25000/MHCP/1.0/ChargeData?"
    )
