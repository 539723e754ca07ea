"""Hostile and unlucky inputs (issue #14): each gives one clear `NSTError` line, or a correct output, and
leaves nothing behind.  The property-based runs (Hypothesis, derandomised so every run is the same) are
in the full tier: each loader sees 2,000 generated cases and may raise only `NSTError`."""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nst
from nst.cli import main
from nst.errors import NSTError
from nst.io.images import load_image
from nst.io.modelfile import load_tensors, save_tensors

ROOT = Path(__file__).resolve().parent.parent
CAT = ROOT / "data" / "content" / "eval" / "skimage_chelsea.jpg"
FUZZ = 2000


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height but whose data is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory):
    from flax import nnx

    from nst.core.networks import NetworkConfig, TransformerNet
    from nst.interface.feedforward import JohnsonStylizer

    cfg = NetworkConfig(num_styles=1, width=0.25)
    meta = {"method": "johnson", "network": cfg.to_dict(), "styles": ["s"], "style_sha256": ["0" * 64],
            "iterations": 1}
    path = tmp_path_factory.mktemp("m") / "tiny.nst"
    JohnsonStylizer(TransformerNet(cfg, nnx.Rngs(0)), meta).save(path)
    return path


# ----------------------------------------------------------------------------------------- images


def test_a_header_claiming_gigapixels_is_refused_before_decoding(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(60000, 60000))
    with pytest.raises(NSTError, match="3600 megapixels, above the limit of 100 .*NST_MAX_PIXELS"):
        load_image(bomb)
    monkeypatch.setenv("NST_MAX_PIXELS", "4e9")  # the user may raise it: then the data is simply truncated
    with pytest.raises(NSTError, match="unreadable or truncated"):
        load_image(bomb)
    monkeypatch.setenv("NST_MAX_PIXELS", "lots")
    with pytest.raises(NSTError, match="NST_MAX_PIXELS"):
        load_image(CAT)


def test_cli_refuses_a_bomb_in_one_line(tmp_path, capsys):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(50000, 50000))
    rc = main(["stylize", "--model", str(ROOT / "results/models/johnson_great_wave.nst"), str(bomb), "-o",
               str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "megapixels" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png"]


def test_large_photo_decodes_at_the_output_size(tmp_path):
    """A 48-megapixel JPEG loaded for a 256-px output: decoded in JPEG draft mode, so the process's peak
    memory grows by far less than the 576 MB a float32 decode of the full image would take."""
    big = tmp_path / "big.jpg"
    rng = np.random.default_rng(0)
    tile = (rng.random((500, 500, 3)) * 255).astype(np.uint8)
    Image.fromarray(np.tile(tile, (16, 12, 1))).save(big, quality=85)  # 6000 × 8000
    code = ("import resource, sys; from nst.io.images import load_image; "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "a = load_image(sys.argv[1], max_size=256); "
            "print(a.shape, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(big)], capture_output=True, text=True, check=True).stdout
    shape, grown_mb = out.rsplit(" ", 1)
    assert shape == "(256, 192, 3)" and int(grown_mb) < 150, out


def test_small_images_decode_exactly_as_before():
    """Below the reduced-decoding threshold, loading at a size equals loading and then resizing."""
    from nst.io.images import resize_image

    np.testing.assert_array_equal(load_image(CAT, max_size=64), resize_image(load_image(CAT), max_size=64))


@pytest.mark.slow
def test_fuzz_image_loading_raises_only_nst_errors(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = {}
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"):
        buf = io.BytesIO()
        Image.new("RGB", (40, 36), (10, 200, 30)).save(buf, format=fmt)
        seeds[fmt] = buf.getvalue()
    seeds["bomb"] = png_header_only(70000, 3)
    target = tmp_path / "fuzz.img"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cases, errors = [], []

    @settings(max_examples=FUZZ, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(kind=st.sampled_from(sorted(seeds) + ["random"]), data=st.data())
    def check(kind, data):
        if kind == "random":
            blob = data.draw(st.binary(max_size=512))
        else:
            blob = bytearray(seeds[kind])
            for _ in range(data.draw(st.integers(1, 8))):
                pos = data.draw(st.integers(0, len(blob) - 1))
                blob[pos] = data.draw(st.integers(0, 255))
            if data.draw(st.booleans()):
                blob = blob[: data.draw(st.integers(0, len(blob)))]
            blob = bytes(blob)
        target.write_bytes(blob)
        cases.append(1)
        try:
            a = load_image(target, max_size=data.draw(st.sampled_from([None, 64])))
        except NSTError:
            errors.append(1)
            return
        assert a.dtype == np.float32 and a.ndim == 3 and a.shape[2] == 3 and np.isfinite(a).all()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < 1024, f"peak memory grew by {grown:.0f} MB"
    assert len(cases) >= FUZZ and 0 < len(errors) < len(cases)  # both outcomes were exercised


# ----------------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("args", [
    ["stylize", str(CAT), "--style", str(ROOT / "data/styles/hokusai_great_wave.jpg"), "-o", "/proc/nst-out.png"],
    ["train", "--style", str(ROOT / "data/styles/hokusai_great_wave.jpg"), "-o", "/sys/m.nst"],
    ["export", str(ROOT / "results/models/johnson_great_wave.nst"), "-o", "/proc/m.onnx"],
    ["export", str(ROOT / "results/models/johnson_great_wave.nst"), "-o", "/proc/m.mlpackage"],
])
def test_unwritable_outputs_are_refused_before_any_work(args, capsys):
    rc = main(args + ["-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot write into" in err and len(err.strip().splitlines()) == 1


def test_output_whose_parent_is_a_file_or_that_is_a_folder(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    model = str(ROOT / "results/models/johnson_great_wave.nst")
    assert main(["stylize", "--model", model, str(CAT), "-o", str(blocker / "o.png")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "dir.nst").mkdir()
    assert main(["train", "--style", str(CAT), "-o", str(tmp_path / "dir.nst")]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.nst", "file.txt"]


# ----------------------------------------------------------------------------------------- blends and sizes


def test_huge_blend_weights_do_not_overflow():
    from nst.interface.base import resolve_styles

    (spec,), single = resolve_styles({0: 1e308, 1: 1e308, 2: 0}, 3)
    np.testing.assert_allclose(spec.weights, [0.5, 0.5, 0.0])
    (spec,), _ = resolve_styles({0: 5e-324, 1: 0.0}, 2)  # the smallest positive double still selects style 0
    np.testing.assert_allclose(spec.weights, [1.0, 0.0])


def test_every_method_has_the_same_size_minimum(capsys):
    model = nst.load(ROOT / "results/models/johnson_great_wave.nst")
    with pytest.raises(NSTError, match="at least 32"):
        model.stylize(CAT, style=0, max_size=1)
    with pytest.raises(SystemExit):
        main(["stylize", "--model", str(ROOT / "results/models/johnson_great_wave.nst"), str(CAT), "--max-size", "1",
              "-o", "x.png"])
    assert "at least 32" in capsys.readouterr().err


@pytest.mark.slow
def test_fuzz_style_and_blend_parsing_raises_only_nst_errors():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from nst.cli.stylize import parse_blend
    from nst.interface.base import resolve_styles

    cases = []

    @settings(max_examples=FUZZ, deadline=None, database=None, derandomize=True)
    @given(text=st.one_of(st.text(max_size=40), st.lists(st.tuples(st.integers(-3, 12), st.floats()), max_size=6).map(
        lambda kv: ",".join(f"{k}={v}" for k, v in kv))), n=st.integers(1, 9))
    def check(text, n):
        cases.append(text)
        try:
            (spec,), _ = resolve_styles(parse_blend(text), n)
        except NSTError:
            return
        assert np.isfinite(spec.weights).all() and abs(float(spec.weights.sum()) - 1) < 1e-5

    check()
    assert len(cases) >= FUZZ


# ----------------------------------------------------------------------------------------- model files


def rewrite(path: Path, out: Path, meta_change=None) -> Path:
    """A copy of a model file with its metadata changed (and a valid digest), so the schema is what is tested."""
    tensors, meta = load_tensors(path)
    meta_change(meta)
    save_tensors(out, tensors, meta)
    return out


def _header(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return f.metadata()


@pytest.mark.parametrize("change, match", [
    (lambda m: m["network"].update(width="wide"), "network.width"),
    (lambda m: m["network"].update(num_residual=100000), "network.num_residual"),
    (lambda m: m["network"].update(num_styles=3), "exactly one style"),
    (lambda m: m["network"].update(output="tanh"), "network.output"),
    (lambda m: m.update(styles="s"), "'styles'"),
    (lambda m: m.update(iterations="many"), "'iterations'"),
    (lambda m: m.update(training={"batch_size": "four"}), "'training'"),
    (lambda m: m.update(training={"no_such_option": 1}), "unknown training option"),
    (lambda m: m.update(method="picasso"), "'method'"),
])
def test_model_metadata_is_checked_before_anything_is_built(tiny_model_file, tmp_path, change, match):
    bad = rewrite(tiny_model_file, tmp_path / "bad.nst", meta_change=change)
    with pytest.raises(NSTError, match=match):
        nst.load(bad)


def test_flipped_tensor_bytes_are_caught_by_the_digest(tiny_model_file, tmp_path, capsys):
    data = bytearray(tiny_model_file.read_bytes())
    data[-100] ^= 0xFF  # inside the tensor payload, which the file's digest covers
    flipped = tmp_path / "flipped.nst"
    flipped.write_bytes(bytes(data))
    with pytest.raises(NSTError, match="does not match the file's SHA-256 digest"):
        nst.load(flipped)
    assert main(["stylize", "--model", str(flipped), str(CAT), "-o", str(tmp_path / "o.png")]) == 1
    assert "digest" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_a_file_without_a_digest_loads_with_a_warning(tiny_model_file, tmp_path):
    from safetensors.numpy import save_file

    tensors, meta = load_tensors(tiny_model_file)
    old = tmp_path / "old.nst"
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(old),
              metadata={"nst": json.dumps({"format": "nst-model", "format_version": 1, **meta})})
    with pytest.warns(UserWarning, match="no integrity digest"):
        assert nst.load(old).num_styles == 1


def test_committed_reference_models_carry_their_digest():
    for path in sorted((ROOT / "results" / "models").glob("*.nst")):
        assert len(json.loads(_header(path)["nst"])["tensor_sha256"]) == 64, path


@pytest.mark.slow
def test_fuzz_model_files_raise_only_nst_errors(tiny_model_file, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    original = tiny_model_file.read_bytes()
    cases, loaded = [], []
    (header_len,) = struct.unpack("<Q", original[:8])
    target = tmp_path / "fuzz.nst"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @settings(max_examples=FUZZ, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(where=st.sampled_from(["header", "tensors", "anywhere", "truncate", "metadata"]), data=st.data())
    def check(where, data):
        blob = bytearray(original)
        if where == "truncate":
            blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
        elif where == "metadata":  # valid JSON, hostile values, digest recomputed so the schema is what is tested
            tensors, meta = load_tensors(tiny_model_file)
            key = data.draw(st.sampled_from(["network", "styles", "style_sha256", "iterations", "training",
                                             "method", "init_from", "final_loss"]))
            meta[key] = data.draw(st.one_of(st.none(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=8),
                                            st.lists(st.integers(), max_size=3),
                                            st.dictionaries(st.sampled_from(["num_styles", "width", "num_residual",
                                                                             "batch_size", "x"]),
                                                            st.one_of(st.integers(-5, 10**9), st.floats(),
                                                                      st.text(max_size=3)), max_size=3)))
            save_tensors(target, tensors, meta)
            blob = bytearray(target.read_bytes())
        else:
            lo, hi = {"header": (8, 8 + header_len), "tensors": (8 + header_len, len(blob)),
                      "anywhere": (0, len(blob))}[where]
            for _ in range(data.draw(st.integers(1, 6))):
                blob[data.draw(st.integers(lo, hi - 1))] = data.draw(st.integers(0, 255))
        target.write_bytes(bytes(blob))
        cases.append(where)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = nst.load(target)
        except NSTError:
            return
        loaded.append(where)
        assert model.num_styles >= 1

    check()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < 1024, f"peak memory grew by {grown:.0f} MB"
    assert len(cases) >= FUZZ and set(cases) == {"header", "tensors", "anywhere", "truncate", "metadata"}


# ----------------------------------------------------------------------------------------- permissions


def test_one_permission_policy_respecting_the_umask(tmp_path, tiny_model_file):
    from nst.io.images import save_image

    old = os.umask(0o027)
    try:
        model = nst.load(tiny_model_file)
        model.save(tmp_path / "m.nst")
        save_image(np.zeros((40, 40, 3), np.float32), tmp_path / "o.png")
        assert oct(os.stat(tmp_path / "m.nst").st_mode & 0o777) == oct(os.stat(tmp_path / "o.png").st_mode & 0o777) \
            == oct(0o640)
        os.chmod(tmp_path / "m.nst", 0o600)
        model.save(tmp_path / "m.nst")  # replacing keeps the mode the user gave it
        assert os.stat(tmp_path / "m.nst").st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_feedforward_input_beyond_memory_is_refused_naming_max_size(monkeypatch, tiny_model_file):
    from nst.interface import feedforward as F

    model = nst.load(tiny_model_file)
    image = np.zeros((64, 64, 3), np.float32)
    need = (64 + 2 * model.border + 3) ** 2 * F.STYLIZE_BYTES_PER_PIXEL  # the guard's padded-pixel estimate
    monkeypatch.setattr(F, "available_memory", lambda: need - 1)
    with pytest.raises(NSTError, match="--max-size"):
        model.stylize(image, style=0)
    monkeypatch.setattr(F, "available_memory", lambda: need + 1)  # room for one copy: styles run one at a time
    assert model.stylize(image, style=0).shape == (64, 64, 3)


def test_a_style_file_taken_as_stored_beyond_memory_is_refused_naming_style_size(monkeypatch, tmp_path):
    """``--style-size stored`` keeps a painting at its own size: one too large for the free memory is
    refused with the option that fixes it, before any network is built or trained, and no file is written."""
    from nst.methods.training import loop

    from tests.conftest import DATA

    style = DATA / "styles" / "vangogh_olive_orchard.jpg"  # 400 × 316 as stored
    need = 400 * 316 * loop.STYLE_GRAMS_BYTES_PER_PIXEL
    monkeypatch.setattr(loop, "available_memory", lambda: need - 1)
    with pytest.raises(NSTError, match=r"vangogh_olive_orchard: a 400x316 px style image .*--style-size"):
        nst.create([style], DATA / "content" / "eval", method="johnson", max_iterations=1, style_size=None,
                   batch_size=1, image_size=32, width=0.25, verbose=False, checkpoint=tmp_path / "m.ckpt")
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(loop, "available_memory", lambda: need)  # exactly enough: the check passes
    loop.check_style_memory([style], [nst.load_image(style)])
