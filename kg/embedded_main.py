"""The embedded store server process: ``python -m kg.embedded_main --data-dir DIR ...``.

Runs ArcadeDB (from the ``arcadedb-embedded`` package, which bundles a JRE) with its Bolt plugin on
127.0.0.1 until it gets SIGTERM/SIGINT. An exclusive ``flock`` on ``DIR/server.lock`` is held for the whole
life of the process, so a second server on the same data cannot start: it exits with code
:data:`EXIT_BUSY` instead. ``DIR/server.json`` (pid, ports) is written once the server accepts
connections and removed when it stops. Users start and stop it through ``kg.embedded.EmbeddedServer``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from ingest.files import write_file

EXIT_BUSY = 3
DATABASE = "factloom"


def _password(data_dir: Path) -> str:
    path = data_dir / "credentials"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password)
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kg.embedded_main")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--heap", default="2g")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    lock = open(data_dir / "server.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another Factloom store server already runs on {data_dir}", file=sys.stderr)
        return EXIT_BUSY

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    import arcadedb_embedded as arcade  # slow import (starts nothing yet); after the lock on purpose

    server = arcade.ArcadeDBServer(
        root_path=str(data_dir / "arcadedb"),
        root_password=_password(data_dir),
        config={
            "host": "127.0.0.1",
            "http_port": args.http_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": args.bolt_port,
            "mode": "production",
        },
        jvm_kwargs={"heap_size": args.heap},
    )
    server.start()
    state_path = data_dir / "server.json"
    try:
        if not (data_dir / "arcadedb" / "databases" / DATABASE).is_dir():
            server.create_database(DATABASE)
        state = {
            "pid": os.getpid(),
            "bolt_port": args.bolt_port,
            "http_port": args.http_port,
            "database": DATABASE,
            "started_at": time.time(),
        }
        write_file(state_path, lambda p: p.write_text(json.dumps(state)))
        print(f"factloom store server ready on bolt://127.0.0.1:{args.bolt_port}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        state_path.unlink(missing_ok=True)
        server.stop()
        print("factloom store server stopped", flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # the JVM keeps non-daemon threads; the server is already stopped cleanly
