"""ONNX and Core ML export: numerics against JAX (onnxruntime), graph structure, metadata, errors."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import nst
from nst import export as E
from nst.errors import NSTError
from conftest import tiny_stylizer

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "results" / "models"
FP32_BOUND = 2e-3  # the bound on the [0, 1] scale
FP16_BOUND = 5e-3  # float16 weights (measured 1.3e-3 on the 8-style reference model)


@pytest.fixture(scope="module")
def tiny3():
    return tiny_stylizer(3)


def test_onnx_matches_jax_every_style_and_blend(tiny3, tmp_path):
    path = tiny3.export(tmp_path / "m.onnx")
    rows = E.verify_onnx(tiny3, path, sizes=[(97, 131), (64, 64), (128, 96)])
    assert len(rows) == 3 * 4  # 3 styles + 1 blend per size
    assert max(r["max_abs_diff"] for r in rows) <= FP32_BOUND
    # the styles really differ, so a mix-up of index handling would fail the check above
    sess = E.onnx_session(path)
    x = E.smooth_random_image(np.random.default_rng(1), 64, 64)[None]
    outs = [E.run_onnx(sess, x, w) for _, w in E.verification_weights(3)]
    assert np.abs(outs[0] - outs[1]).max() > 0.05


@pytest.mark.parametrize("border,stage", [(8, "residual"), pytest.param(8, "input", marks=pytest.mark.slow)])
def test_photo_residual_network_exports_and_matches_jax(border, stage, tmp_path):
    """The photo's logit, added before the sigmoid, from the same padded picture the JAX network uses."""
    model = tiny_stylizer(3, output="photo_residual").with_border(border, stage=stage)
    path = model.export(tmp_path / "p.onnx")
    rows = E.verify_onnx(model, path, sizes=[(97, 131), (64, 64)])
    assert max(r["max_abs_diff"] for r in rows) <= FP32_BOUND
    m = onnx.load(str(path))
    assert {p.key: p.value for p in m.metadata_props}["output"] == "photo_residual"
    layers = E.layer_sequence(m)
    assert layers.count("clip") == 1 and layers.count("log") == 2 and layers.count("sigmoid") == 1
    assert layers.index("clip") < layers.index("log") < layers.index("sigmoid")  # the logit, then the sigmoid
    # the photo shows through: two photos give outputs as different as the photos, the sigmoid net's far less so
    sess = E.onnx_session(path)
    w = E.verification_weights(3)[0][1]
    a, b = (E.smooth_random_image(np.random.default_rng(s), 64, 64)[None] for s in (3, 4))
    assert np.abs(E.run_onnx(sess, a, w) - E.run_onnx(sess, b, w)).mean() > 0.5 * np.abs(a - b).mean()


@pytest.mark.slow
def test_residual_stage_border_exports_and_matches_jax(tiny3, tmp_path):
    m = tiny3.with_border(8, stage="residual")
    path = m.export(tmp_path / "r.onnx")
    rows = E.verify_onnx(m, path, sizes=[(97, 131), (64, 64)])
    assert max(r["max_abs_diff"] for r in rows) <= FP32_BOUND
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["border"] == "8" and meta["border_stage"] == "residual"
    # and the stage changes the picture: the input-stage export of the same border differs
    sess_in = E.onnx_session(tiny3.with_border(8, stage="input").export(tmp_path / "i.onnx"))
    sess_res = E.onnx_session(path)
    x = E.smooth_random_image(np.random.default_rng(2), 64, 64)[None]
    w = E.verification_weights(3)[0][1]
    assert np.abs(E.run_onnx(sess_in, x, w) - E.run_onnx(sess_res, x, w)).max() > 1e-3


def test_onnx_float16_is_half_size_and_within_its_bound(tiny3, tmp_path):
    p32 = tiny3.export(tmp_path / "a.onnx")
    p16 = tiny3.export(tmp_path / "b.onnx", precision="float16")
    assert os.path.getsize(p16) < 0.6 * os.path.getsize(p32)
    rows = E.verify_onnx(tiny3, p16, sizes=[(97, 131)])
    assert max(r["max_abs_diff"] for r in rows) <= FP16_BOUND


@pytest.mark.slow
@pytest.mark.parametrize("name", ["johnson_starry_night.nst", "dumoulin_8styles.nst"])
def test_reference_models_export_within_bound(name, tmp_path):
    model = nst.load(MODELS / name)
    path = model.export(tmp_path / "m.onnx")
    rows = E.verify_onnx(model, path, sizes=[(97, 131), (256, 256), (512, 384)])
    assert len(rows) == 3 * (model.num_styles + (model.num_styles > 1))
    worst = max(r["max_abs_diff"] for r in rows)
    assert worst <= FP32_BOUND, worst


def test_onnx_interface_and_metadata(tiny3, tmp_path):
    m = onnx.load(tiny3.export(tmp_path / "m.onnx"))
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in m.graph.input}
    outs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in m.graph.output}
    assert ins == {"image": ["batch", 3, "height", "width"], "index": [3]}
    assert outs == {"stylizedImage": ["batch", 3, "height", "width"]}
    props = {p.key: p.value for p in m.metadata_props}
    assert props["method"] == "dumoulin" and json.loads(props["styles"]) == ["style0", "style1", "style2"]
    assert props["iterations"] == "7" and props["nst_version"] == nst.__version__
    ops = {n.op_type for n in m.graph.node}
    assert {"Pad", "Conv", "InstanceNormalization", "Resize", "Relu", "Sigmoid"} <= ops
    assert sum(n.op_type == "Conv" for n in m.graph.node) == 16


def test_single_style_has_no_index_input_and_fixed_size_works(tmp_path):
    model = tiny_stylizer(1)
    m = onnx.load(model.export(tmp_path / "m.onnx", image_size=(97, 131)))
    assert [i.name for i in m.graph.input] == ["image"]
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim][1:] == [3, 97, 131]
    rows = E.verify_onnx(model, tmp_path / "m.onnx", sizes=[(97, 131)])
    assert rows[0]["max_abs_diff"] <= FP32_BOUND


@pytest.fixture(scope="module")
def coremltools():
    with E.quiet_coremltools():
        return pytest.importorskip("coremltools")


@pytest.mark.parametrize("num_styles,output", [(1, "sigmoid"), (3, "sigmoid"), (1, "photo_residual")])
def test_coreml_package_interface_and_same_layers_as_onnx(num_styles, output, tmp_path, coremltools):
    model = tiny_stylizer(num_styles, output=output)
    path = model.export(tmp_path / "m.mlpackage")
    assert path.is_dir() and (path / "Manifest.json").exists()
    with E.quiet_coremltools():
        ml = coremltools.models.MLModel(str(path), skip_model_load=True)  # predicting needs macOS
    spec = ml.get_spec()
    ins = {i.name: i for i in spec.description.input}
    assert set(ins) == ({"image", "index"} if num_styles > 1 else {"image"})
    image = ins["image"].type.imageType
    assert image.colorSpace == coremltools.proto.FeatureTypes_pb2.ImageFeatureType.RGB
    assert image.imageSizeRange.heightRange.lowerBound == 64 and image.imageSizeRange.widthRange.lowerBound == 64
    if num_styles > 1:
        assert list(ins["index"].type.multiArrayType.shape) == [num_styles]
    (out,) = spec.description.output
    assert out.name == "stylizedImage" and out.type.WhichOneof("Type") == "imageType"
    meta = dict(spec.description.metadata.userDefined)
    assert meta["method"] == model.method and json.loads(meta["styles"]) == model.styles
    assert meta["nst_version"] == nst.__version__
    onnx_layers = E.layer_sequence(E.onnx_model(model))
    assert E.layer_sequence(ml) == onnx_layers
    assert onnx_layers.count("conv") == 16 and onnx_layers.count("instance_norm") == 16


def test_coreml_float16_is_smaller(tiny3, tmp_path, coremltools):
    size = lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file())  # noqa: E731
    a = tiny3.export(tmp_path / "a.mlpackage")
    b = tiny3.export(tmp_path / "b.mlpackage", precision="float16")
    assert size(b) < 0.75 * size(a)


def test_export_errors_and_atomic_writes(tiny3, tmp_path, monkeypatch, coremltools, style_path):
    gatys = nst.create([style_path], method="gatys")  # nothing to export: no export method
    assert not hasattr(gatys, "export")
    with pytest.raises(NSTError, match="no network to export"):
        E.export(gatys, tmp_path / "g.onnx")
    with pytest.raises(NSTError, match="unknown export format"):
        tiny3.export(tmp_path / "m.onnx", format="tflite")
    with pytest.raises(NSTError, match="cannot tell the export format"):
        tiny3.export(tmp_path / "m.bin")
    with pytest.raises(NSTError, match="mlpackage"):
        tiny3.export(tmp_path / "m.onnx", format="coreml")
    with pytest.raises(NSTError, match="precision"):
        tiny3.export(tmp_path / "m.onnx", precision="int4")
    with pytest.raises(NSTError, match="at least 64"):
        tiny3.export(tmp_path / "m.onnx", image_size=(32, 100))
    assert list(tmp_path.iterdir()) == []

    # a failure while writing leaves the old file (or package) as it was, and no temporary files
    old = tiny3.export(tmp_path / "m.onnx")
    before = old.read_bytes()
    pkg = tiny3.export(tmp_path / "m.mlpackage")
    manifest = (pkg / "Manifest.json").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    import onnx as onnx_mod
    monkeypatch.setattr(onnx_mod.ModelProto, "SerializeToString", boom)
    with pytest.raises(OSError):
        tiny3.export(tmp_path / "m.onnx")
    monkeypatch.setattr(coremltools.models.MLModel, "save", boom)
    with pytest.raises(OSError):
        tiny3.export(tmp_path / "m.mlpackage")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mlpackage", "m.onnx"]
    assert old.read_bytes() == before and (pkg / "Manifest.json").read_bytes() == manifest


def test_corrupt_onnx_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(NSTError, match="not a loadable ONNX model"):
        E.onnx_session(bad)


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_cli_export_and_verify(tiny3, tmp_path, capsys):
    from nst.cli import main

    model_path = tiny3.save(tmp_path / "tiny.nst")
    assert main(["export", str(model_path), "-o", str(tmp_path / "out"), "--format", "onnx", "--verify"]) == 0
    text = capsys.readouterr().out
    assert (tmp_path / "out.onnx").exists() and "onnxruntime vs JAX" in text
    diff = float(text.split("max |difference| ")[1].split()[0])
    assert diff <= FP32_BOUND
    bad = tmp_path / "bad.nst"
    bad.write_bytes(b"garbage")
    assert main(["export", str(bad), "-o", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nst: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.onnx").exists()
