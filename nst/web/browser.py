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


def launch_chromium(playwright: Any, fake_camera: bool = False, camera_video: str | os.PathLike | None = None) -> Any:
    """A headless Chromium browser (Playwright ``Browser``).

    ``fake_camera``: Chromium's synthetic camera, which shows its test pattern or, with
    ``camera_video``, loops a .y4m file (`write_y4m`).
    """
    path = chromium_path()
    if path is None:
        raise NSTError("Chromium is not installed (Debian: apt-get install chromium), or set NST_CHROMIUM")
    args = list(QUIET_FLAGS) + (list(FAKE_CAMERA_FLAGS) if fake_camera else [])
    if fake_camera and camera_video is not None:
        args.append(f"--use-file-for-fake-video-capture={camera_video}")
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


def write_y4m(path: str | os.PathLike, frames: list[np.ndarray], fps: int = 30) -> Path:
    """RGB frames (H, W, 3) in [0, 1], even H and W, as a YUV 4:2:0 .y4m video (BT.601 full range).

    Chromium's fake camera plays such a file in a loop, so the webcam path sees a photograph
    instead of the flat synthetic test pattern.
    """
    path = Path(path)
    h, w = frames[0].shape[:2]
    if h % 2 or w % 2:
        raise NSTError(f"y4m frames need an even size, got {w}x{h}")
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            rgb = np.asarray(frame, np.float64) * 255
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
            v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
            sub = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731
            f.write(b"FRAME\n")
            for plane in (y, sub(u), sub(v)):
                f.write(np.clip(np.round(plane), 0, 255).astype(np.uint8).tobytes())
    return path
