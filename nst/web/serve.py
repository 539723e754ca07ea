"""``nst web serve``: the built page on 127.0.0.1, cross-origin isolated so that wasm can use threads.

onnxruntime-web runs multi-threaded only when ``crossOriginIsolated`` is true in the page, which
needs COOP ``same-origin`` and COEP ``require-corp`` on the document; without them it warns and
runs on one thread.  The server binds the loopback address only: the page is for the person at
this machine, and nothing it computes is sent anywhere.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

from ..errors import NSTError
from .build import read_manifest

LOOPBACK = "127.0.0.1"
SITE_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # a rebuilt site is picked up on reload
}


class SiteHandler(SimpleHTTPRequestHandler):
    """Static files with the isolation headers and the MIME types that module scripts and wasm need."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream",
                      ".json": "application/json"}

    def end_headers(self) -> None:
        for k, v in SITE_HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def make_server(folder: str | os.PathLike, port: int = 8000, verbose: bool = False) -> ThreadingHTTPServer:
    """A server for a built site on 127.0.0.1:``port`` (0: any free port); not yet serving."""
    folder = Path(folder)
    read_manifest(folder)  # a clear error for a folder that holds no built site
    if not 0 <= port <= 65535:
        raise NSTError(f"--port {port}: choose a port from 0 to 65535")
    handler = functools.partial(SiteHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise NSTError(f"port {port} on {LOOPBACK} is in use: choose another with --port") from None
        raise NSTError(f"cannot listen on {LOOPBACK}:{port} ({e.strerror or e})") from None
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def serve_site(folder: str | os.PathLike, port: int = 8000, verbose: bool = False) -> None:
    """Serve a built site until interrupted (Ctrl-C)."""
    server = make_server(folder, port, verbose)
    host, bound = server.server_address[:2]
    print(f"serving {folder}/ at http://{host}:{bound}/ (this machine only; Ctrl-C stops)", flush=True)

    def stop(signum: int, frame: Any) -> None:  # SIGTERM stops as cleanly as Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop) if threading.current_thread() is threading.main_thread() else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def served(folder: str | os.PathLike, port: int = 0) -> Iterator[str]:
    """Serve a built site from a background thread for the ``with`` block; yields its URL."""
    server = make_server(folder, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, bound = server.server_address[:2]
        yield f"http://{host}:{bound}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
