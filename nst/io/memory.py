"""How much memory a new allocation can get, so that work too large for the machine is refused up front."""

from __future__ import annotations

from pathlib import Path


def available_memory() -> int | None:
    """Bytes the kernel says a new allocation can get (MemAvailable), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
