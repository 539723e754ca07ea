"""nst.xla_flags: the XLA:CPU flag nst sets at import, and when it leaves XLA_FLAGS alone."""

import json
import os
import subprocess
import sys
import warnings

import pytest

from nst import xla_flags


@pytest.fixture
def tested_jaxlib(monkeypatch):
    monkeypatch.setattr(xla_flags, "_jaxlib_version", lambda: xla_flags.TESTED_JAXLIB[0])
    monkeypatch.setattr(xla_flags, "_backends_started", lambda: False)


def test_appends_to_existing_flags(tested_jaxlib):
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    assert xla_flags.configure(env).startswith("YNNPACK off")
    assert env["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2 " + xla_flags.SETTING
    env = {}
    xla_flags.configure(env)
    assert env["XLA_FLAGS"] == xla_flags.SETTING


def test_users_setting_and_opt_out_win(tested_jaxlib):
    mine = {"XLA_FLAGS": xla_flags.FLAG + "=individual_dot"}
    assert "already" in xla_flags.configure(mine)
    assert mine["XLA_FLAGS"] == xla_flags.FLAG + "=individual_dot"
    out = {xla_flags.OPT_OUT: "1"}
    assert "kept" in xla_flags.configure(out)
    assert "XLA_FLAGS" not in out


def test_untested_jaxlib_gets_no_flag(monkeypatch):
    # XLA aborts the process on an unknown flag, so an unknown jaxlib must get none.
    monkeypatch.setattr(xla_flags, "_jaxlib_version", lambda: (0, 4))
    env = {}
    assert "not tested" in xla_flags.configure(env)
    assert env == {}


def test_warns_when_jax_already_started(monkeypatch):
    monkeypatch.setattr(xla_flags, "_jaxlib_version", lambda: xla_flags.TESTED_JAXLIB[0])
    monkeypatch.setattr(xla_flags, "_backends_started", lambda: True)
    env = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "already started" in xla_flags.configure(env)
    assert env == {} and any("YNNPACK" in str(w.message) for w in caught)


_PROBE = """
import json, sys
import nst, jax, jax.numpy as jnp
from nst import xla_flags
x, k = jnp.ones((1, 66, 66, 64)), jnp.ones((3, 3, 64, 64))
conv = jax.jit(lambda a, b: jax.lax.conv_general_dilated(a, b, (1, 1), "VALID",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC")))
print(json.dumps({"status": xla_flags.status, "ynn": "__ynn_fusion" in conv.lower(x, k).compile().as_text()}))
"""


def _probe(**env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", xla_flags.OPT_OUT)}
    env.update(JAX_PLATFORMS="cpu", **env_extra)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(xla_flags._jaxlib_version() not in xla_flags.TESTED_JAXLIB, reason="untested jaxlib")
def test_import_nst_takes_convolutions_off_ynnpack():
    on = _probe()
    assert on["status"].startswith("YNNPACK off") and not on["ynn"], on
    kept = _probe(**{xla_flags.OPT_OUT: "1"})
    assert "kept" in kept["status"] and kept["ynn"], kept  # the probe would see YNNPACK if it were on
