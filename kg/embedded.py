"""Start, find and stop the embedded store server (ArcadeDB with Bolt on 127.0.0.1).

The server runs in its own background process (``kg.embedded_main``) so that any number of Factloom commands,
tests or the HTTP API can share it through the ordinary ``neo4j`` driver. Its state lives in ``data_dir``:

``server.lock``   held (flock) by the running server: the single source of truth for "is it running"
``server.json``   pid and ports, written once it accepts connections
``credentials``   the root password it was created with (mode 0600)
``server.log``    its output

Example:
    >>> server = EmbeddedServer(StoreConfig(data_dir=Path(".factloom")))  # doctest: +SKIP
    >>> info = server.ensure_running()                                      # doctest: +SKIP
    >>> info.uri                                                            # doctest: +SKIP
    'bolt://127.0.0.1:17687'
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kg.config import StoreConfig
from kg.embedded_main import EXIT_BUSY
from kg.errors import StoreBusy, StoreUnavailable


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server, as read from its state file."""

    pid: int
    bolt_port: int
    http_port: int
    database: str
    password: str

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedServer:
    """Handle on the embedded server for one data directory."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir).resolve()

    # -- state -----------------------------------------------------------------------------------------
    def _lock_held(self) -> bool:
        path = self.data_dir / "server.lock"
        if not path.exists():
            return False
        with open(path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
            return False

    def status(self) -> ServerInfo | None:
        """The running server's info, or ``None`` when no server runs on this data directory."""
        if not self._lock_held():
            return None
        try:
            state = json.loads((self.data_dir / "server.json").read_text())
            password = (self.data_dir / "credentials").read_text().strip()
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # starting up: the lock is taken but it does not accept connections yet
        return ServerInfo(state["pid"], state["bolt_port"], state["http_port"], state["database"], password)

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> ServerInfo:
        """Start the server and wait until it accepts Bolt connections.

        Raises:
            StoreBusy: a server already runs on this data directory (use :meth:`ensure_running` to share it).
            StoreUnavailable: it did not come up; the message quotes the end of ``server.log``.
        """
        if self._lock_held():
            raise StoreBusy(
                f"a Factloom store server already runs on {self.data_dir} "
                "(`factloom store status` shows it; `factloom store stop` stops it)"
            )
        cfg = self.config
        if _port_open(cfg.bolt_port) or _port_open(cfg.http_port):
            raise StoreUnavailable(
                f"cannot start the embedded store: port {cfg.bolt_port} (bolt) or {cfg.http_port} (http) on "
                "127.0.0.1 is taken by another program; set FACTLOOM_BOLT_PORT / FACTLOOM_HTTP_PORT"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.data_dir / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "kg.embedded_main",
            "--data-dir",
            str(self.data_dir),
            "--bolt-port",
            str(cfg.bolt_port),
            "--http-port",
            str(cfg.http_port),
            "--heap",
            cfg.heap,
        ]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.data_dir,
            )
        return self._wait_ready(proc, log_path)

    def _wait_ready(self, proc: subprocess.Popen[bytes], log_path: Path) -> ServerInfo:
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            code = proc.poll()
            if code == EXIT_BUSY:  # lost a start race to another process: share the winner
                return self._wait_for_other(deadline)
            if code is not None:
                raise StoreUnavailable(
                    f"the embedded store server exited with code {code} while starting; "
                    f"end of {log_path}:\n{_tail(log_path)}"
                )
            if (info := self._ready()) is not None:
                return info
            time.sleep(0.2)
        proc.terminate()
        raise StoreUnavailable(
            f"the embedded store server did not start within {self.config.start_timeout_s:.0f} s;"
            f" end of {log_path}:\n{_tail(log_path)}"
        )

    def _ready(self) -> ServerInfo | None:
        """The server's info once it accepts Bolt connections, else ``None``."""
        info = self.status()
        return info if info is not None and _port_open(info.bolt_port) else None

    def _wait_for_other(self, deadline: float | None = None) -> ServerInfo:
        """Wait for a server another process is starting on this data directory."""
        deadline = deadline if deadline is not None else time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline:
            if (info := self._ready()) is not None:
                return info
            time.sleep(0.2)
        raise StoreUnavailable(
            f"another process is starting the store server on {self.data_dir}, but it did not come up in time"
        )

    def ensure_running(self) -> ServerInfo:
        """The running server, started first if needed (and if ``autostart`` allows)."""
        info = self.status()
        if info is not None:
            return info
        if self._lock_held():  # another process is starting it right now
            return self._wait_for_other()
        if not self.config.autostart:
            raise StoreUnavailable(
                f"the embedded store is not running on {self.data_dir}; start it with `factloom store start`"
            )
        try:
            return self.start()
        except StoreBusy:
            return self._wait_for_other()

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the server cleanly (SIGTERM, then wait). Returns ``False`` when none was running."""
        info = self.status()
        if info is None:
            return False
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._lock_held():
                return True
            time.sleep(0.2)
        raise StoreUnavailable(f"the store server (pid {info.pid}) did not stop within {timeout_s:.0f} s")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
