"""Real servers on 127.0.0.1: a mosquitto broker and a Home Assistant process.

Used by ``scripts/develop``, the browser test and the benchmarks, so each of
them runs the same Home Assistant the way a user does (``hass -c DIR``).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Self
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "evse_bridge"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
# Integrations a user of EVSE Bridge sees: the UI, the Energy dashboard and
# history. Not default_config: it pulls in integrations that try to build
# packages at start-up.
DEFAULT_INTEGRATIONS = (
    "frontend",
    "config",
    "energy",
    "history",
    "logbook",
    "recorder",
)
# Log records kept off the console, by logger: they only say that this
# environment has no ffmpeg program, which the tts integration looks for at
# start-up (with a traceback). Debian's ffmpeg pulls in about 100 packages,
# and nothing EVSE Bridge does needs it.
QUIET_LOGS = {
    "haffmpeg.core": r"No such file or directory: 'ffmpeg'",
    "haffmpeg.tools": r"^Error starting FFmpeg\.$",
}


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, limit: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    msg = f"nothing listens on 127.0.0.1:{port} after {limit} s"
    raise TimeoutError(msg)


@dataclass
class Mosquitto:
    """A mosquitto broker on 127.0.0.1."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        """Start the broker and wait until it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.process = subprocess.Popen(  # noqa: S603 - fixed program and arguments
            [MOSQUITTO, "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the broker."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def config_entry(
    domain: str,
    title: str,
    data: Mapping[str, Any],
    *,
    unique_id: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a config entry as Home Assistant stores it."""
    now = datetime.now(UTC).isoformat()
    return {
        "created_at": now,
        "data": dict(data),
        "discovery_keys": {},
        "disabled_by": None,
        "domain": domain,
        "entry_id": uuid.uuid4().hex.upper()[:26],
        "minor_version": 1,
        "modified_at": now,
        "options": dict(options or {}),
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": title,
        "unique_id": unique_id,
        "version": 1,
    }


@dataclass
class HomeAssistant:
    """A Home Assistant process with its own configuration folder."""

    config_dir: Path
    port: int = 8123
    integrations: Iterable[str] = DEFAULT_INTEGRATIONS
    extra_yaml: str = ""
    log_level: str = "warning"
    logs: Mapping[str, str] = field(default_factory=dict)
    """Log levels per logger, on top of ``log_level``."""
    custom_components: Iterable[Path] = (INTEGRATION,)
    process: subprocess.Popen[bytes] | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def write_configuration(self) -> None:
        """Write configuration.yaml and link the custom integrations in."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        components = self.config_dir / "custom_components"
        components.mkdir(exist_ok=True)
        for source in self.custom_components:
            link = components / source.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(source, target_is_directory=True)
        lines = [
            "homeassistant:",
            "  name: EVSE Bridge",
            "  time_zone: UTC",
            "  unit_system: metric",
            "  country: SE",
            "  currency: SEK",
            "logger:",
            f"  default: {self.log_level}",
            *(["  logs:"] if self.logs else []),
            *(f"    {name}: {level}" for name, level in self.logs.items()),
            "  filters:",
            *(
                f"    {name}: [{json.dumps(pattern)}]"
                for name, pattern in QUIET_LOGS.items()
            ),
            *(f"{integration}:" for integration in self.integrations),
            self.extra_yaml,
        ]
        (self.config_dir / "configuration.yaml").write_text("\n".join(lines) + "\n")
        self._write_http_settings()
        onboarding = self.config_dir / ".storage" / "onboarding"
        if not onboarding.exists():
            # Everything but the user step is done, so that onboarding does not
            # set up the integrations it offers new users (weather, radio, TTS).
            onboarding.parent.mkdir(exist_ok=True)
            onboarding.write_text(
                json.dumps(
                    {
                        "version": 4,
                        "minor_version": 1,
                        "key": "onboarding",
                        "data": {"done": ["core_config", "analytics", "integration"]},
                    }
                )
            )

    def _write_http_settings(self) -> None:
        """Store the HTTP server settings, confirmed.

        Since 2026.10 Home Assistant keeps them in storage: ``http:`` in
        configuration.yaml becomes a pending change that the UI asks to
        confirm (a dialog over every page), and falls back to port 8123
        after five minutes unconfirmed.
        """
        settings = {
            "server_host": ["127.0.0.1"],
            "server_port": self.port,
            "cors_allowed_origins": [],
            "login_attempts_threshold": -1,
            "ip_ban_enabled": True,
            "ssl_profile": "modern",
            "use_x_frame_options": True,
            "created_at": "2026-01-01T00:00:00+00:00",
            "error": None,
            "error_message": None,
        }
        document = {
            "version": 2,
            "minor_version": 2,
            "key": "http",
            "data": {"stable": settings, "pending": None, "yaml_migration_done": True},
        }
        storage = self.config_dir / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        (storage / "http").write_text(json.dumps(document))

    def write_config_entries(self, entries: list[dict[str, Any]]) -> None:
        """Store config entries, as if they had been added in the UI."""
        storage = self.config_dir / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        document = {
            "version": 1,
            "minor_version": 5,
            "key": "core.config_entries",
            "data": {"entries": entries},
        }
        (storage / "core.config_entries").write_text(json.dumps(document, indent=2))

    def start(self, *, limit: float = 180.0, output: int | None = None) -> Self:
        """Start ``hass -c`` and wait until its HTTP server answers."""
        lock = self.config_dir / ".ha_run.lock"
        if lock.exists():  # left behind by an instance that was killed
            lock.unlink()
        self.process = subprocess.Popen(  # noqa: S603 - fixed program and arguments
            [sys.executable, "-m", "homeassistant", "-c", str(self.config_dir)],
            stdout=output if output is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Not the project on the path (PYTHONPATH, or the working folder,
            # which -m adds): its custom_components folder would hide the
            # configuration's, which links the integrations in.
            env={
                key: value for key, value in os.environ.items() if key != "PYTHONPATH"
            },
            cwd=self.config_dir,
        )
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"Home Assistant exited with {self.process.returncode}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{self.url}/manifest.json", timeout=2):  # noqa: S310 - our own URL
                    return self
            except urllib.error.URLError, OSError:
                time.sleep(0.25)
        msg = f"Home Assistant did not answer within {limit} s"
        raise TimeoutError(msg)

    def wait_until_running(self, limit: float = 300.0) -> None:
        """Wait until Home Assistant has finished starting (state RUNNING).

        Its HTTP server answers early, while integrations are still being set
        up; on a fresh machine that includes installing their requirements.
        Needs the token of ``onboard``.
        """
        deadline = time.monotonic() + limit
        while self.request("GET", "/api/config")["state"] != "RUNNING":
            if self.process is not None and self.process.poll() is not None:
                msg = f"Home Assistant exited with {self.process.returncode}"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                msg = f"Home Assistant was still starting after {limit} s"
                raise TimeoutError(msg)
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop Home Assistant as Ctrl-C would, and wait for it."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    # --- HTTP API ----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        form: bool = False,
    ) -> Any:
        """Call Home Assistant's HTTP API; return the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data = None
        if body is not None and form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 - our own URL
            f"{self.url}{path}", data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            payload = response.read()
        return json.loads(payload) if payload else None

    def onboard(self, username: str, password: str) -> str:
        """Create the owner (the one onboarding step left), or log in.

        Return an access token, also kept in ``token``.
        """
        client_id = f"{self.url}/"
        try:
            steps = self.request("GET", "/api/onboarding")
        except urllib.error.HTTPError as err:
            if err.code != HTTPStatus.NOT_FOUND:
                raise
            # Onboarding is over: Home Assistant no longer serves it.
            steps = [{"step": "user", "done": True}]
        status = {step["step"]: step["done"] for step in steps}
        if not status.get("user"):
            code = self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": client_id,
                    "name": "Developer",
                    "username": username,
                    "password": password,
                    "language": "en",
                },
            )["auth_code"]
        else:
            flow = self.request(
                "POST",
                "/auth/login_flow",
                {
                    "client_id": client_id,
                    "handler": ["homeassistant", None],
                    "redirect_uri": client_id,
                },
            )
            code = self.request(
                "POST",
                f"/auth/login_flow/{flow['flow_id']}",
                {"client_id": client_id, "username": username, "password": password},
            )["result"]
        tokens = self.request(
            "POST",
            "/auth/token",
            {"grant_type": "authorization_code", "code": code, "client_id": client_id},
            form=True,
        )
        self.token = tokens["access_token"]
        return self.token

    def states(self) -> dict[str, dict[str, Any]]:
        """Return every entity's state, by entity id."""
        return {
            state["entity_id"]: state for state in self.request("GET", "/api/states")
        }
