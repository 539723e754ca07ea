"""XLA:CPU settings nst applies before JAX starts its backends: YNNPACK off.

jaxlib 0.10 hands every convolution (and some dots, reductions and element-wise ops) on the CPU
to YNNPACK by default.  On the 2-core AVX-512 Xeon this project is developed on, YNNPACK runs the
transformer network's convolutions several times slower than XLA's own Eigen convolutions, while
the Gatys VGG19 passes take the same time either way (per layer and per task in
``results/profile_xla_cpu/``, ``python -m experiments.benchmarks.profile_xla_cpu``).  So `configure` appends
``--xla_cpu_experimental_ynn_fusion_type=`` (an empty list: no YNNPACK fusions) to ``XLA_FLAGS``.

It only ever appends, and leaves ``XLA_FLAGS`` alone when

* the user already names the flag there (their choice wins),
* ``NST_KEEP_XLA_DEFAULTS=1`` is set (opt out),
* the installed jaxlib is not one this was measured with (`TESTED_JAXLIB`): XLA aborts the
  process on a flag it does not know, so an untested jaxlib gets no flag at all,
* JAX has already started its backends (the flag would be ignored; a warning says so).

The flag changes which library computes each convolution, so results differ from the YNNPACK
ones by float rounding (≈1e-6 relative); runs stay deterministic.  It only concerns XLA:CPU; GPU
compilations ignore it.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings

FLAG = "--xla_cpu_experimental_ynn_fusion_type"
SETTING = FLAG + "="  # empty list: no operation goes to YNNPACK
OPT_OUT = "NST_KEEP_XLA_DEFAULTS"
# jaxlib (major, minor) versions known to accept FLAG: 0.10 measured here; 0.11 documented by others.
TESTED_JAXLIB = ((0, 10), (0, 11))

status: str = "not configured"  # what `configure` did, for benchmark metadata


def _jaxlib_version() -> tuple[int, int] | None:
    try:
        parts = importlib.metadata.version("jaxlib").split(".")
        return int(parts[0]), int(parts[1])
    except (importlib.metadata.PackageNotFoundError, ValueError, IndexError):
        return None


def _backends_started() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # private API moved: assume not started, as at a normal import
        return False


def configure(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """Append `SETTING` to ``environ["XLA_FLAGS"]`` where safe; return (and record) what was done."""
    global status
    flags = environ.get("XLA_FLAGS", "")
    version = _jaxlib_version()
    if environ.get(OPT_OUT, "") not in ("", "0"):
        status = f"XLA defaults kept ({OPT_OUT} set)"
    elif FLAG in flags:
        status = "user's XLA_FLAGS already set the YNNPACK flag"
    elif version not in TESTED_JAXLIB:
        status = f"jaxlib {version} not tested; XLA defaults kept"
    elif _backends_started():
        status = "JAX backends already started; YNNPACK left on"
        warnings.warn("nst: JAX started before `import nst`; XLA:CPU keeps YNNPACK, which makes convolutions "
                      "slower here (results/profile_xla_cpu). Import nst first, or set XLA_FLAGS=" + SETTING, stacklevel=3)
    else:
        environ["XLA_FLAGS"] = (flags + " " + SETTING).strip()
        status = "YNNPACK off (" + SETTING + ")"
    return status
