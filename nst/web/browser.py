"""The page in a real headless Chromium through Playwright, for the browser tests and the benchmark.

Playwright drives the system's Chromium (Debian's ``chromium`` package) rather than a browser it
downloads; ``$NST_CHROMIUM`` names another binary.  Debian's ``/usr/bin/chromium`` is a shell
wrapper, so the real binary is preferred.  The flags keep Chromium off the network (this
machine's is closed) and, with ``fake_camera``, give it Chromium's synthetic camera.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NSTError

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
QUIET_FLAGS = ("--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-default-apps")
FAKE_CAMERA_FLAGS = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")


def chromium_path() -> str | None:
    """The Chromium binary to drive: ``$NST_CHROMIUM``, else Debian's, else None."""
    if os.environ.get("NST_CHROMIUM"):
        return os.environ["NST_CHROMIUM"]
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def launch_chromium(playwright: Any, fake_camera: bool = False) -> Any:
    """A headless Chromium browser (Playwright ``Browser``)."""
    path = chromium_path()
    if path is None:
        raise NSTError("Chromium is not installed (Debian: apt-get install chromium), or set NST_CHROMIUM")
    args = list(QUIET_FLAGS) + (list(FAKE_CAMERA_FLAGS) if fake_camera else [])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return playwright.chromium.launch(executable_path=path, headless=True, args=args)


def decode_floats(text: str, height: int, width: int) -> np.ndarray:
    """The page's base64 float32 NCHW array (one image) as (1, H, W, 3)."""
    flat = np.frombuffer(base64.b64decode(text), np.float32)
    return flat.reshape(1, 3, height, width).transpose(0, 2, 3, 1)


def encode_floats(images: np.ndarray) -> str:
    """(1, H, W, 3) floats as the page's base64 float32 NCHW array."""
    nchw = np.ascontiguousarray(np.asarray(images, np.float32).transpose(0, 3, 1, 2))
    return base64.b64encode(nchw.tobytes()).decode("ascii")
