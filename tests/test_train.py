"""Training machinery shared by johnson and dumoulin: tiny images, few steps, real properties."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nst
from nst.io.data import ContentBatches
from nst.errors import NSTError
from nst.interface.feedforward import stylizer_from_training
from nst.methods.training import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
STARRY = DATA / "styles" / "vangogh_starry_night.jpg"
WAVE = DATA / "styles" / "hokusai_great_wave.jpg"
TINY = dict(batch_size=2, image_size=48, style_size=64, width=0.25, learning_rate=1e-2, checkpoint_every=1000)


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("content")
    for name in ("kodak_kodim01.jpg", "kodak_kodim03.jpg", "skimage_coffee.jpg"):
        (d / name).write_bytes((DATA / "content" / "train" / name).read_bytes())
    return d


def test_batches_deterministic_and_shaped(content_dir):
    a = ContentBatches(content_dir, 48, 2, seed=1)
    b = ContentBatches(content_dir, 48, 2, seed=1)
    x5 = a.batch(5)
    assert x5.shape == (2, 48, 48, 3) and x5.dtype == np.float32 and 0 <= x5.min() and x5.max() <= 1
    np.testing.assert_array_equal(x5, b.batch(5))
    assert not np.array_equal(a.batch(5), a.batch(6))
    got = [it for it, _ in a.iterate(3, 7)]
    assert got == [3, 4, 5, 6]
    np.testing.assert_array_equal(next(b.iterate(5, 6))[1], x5)
    a.close(), b.close()


def test_content_folder_errors(tmp_path):
    with pytest.raises(NSTError, match="no such folder"):
        ContentBatches(tmp_path / "missing", 48, 2)
    with pytest.raises(NSTError, match="no images"):
        ContentBatches(tmp_path, 48, 2)


@pytest.mark.slow  # fast-tier budget; the fast tier trains multi-style models in the add-style and create tests
def test_two_style_model_lowers_both_styles_losses(content_dir, vgg):
    res = train([STARRY, WAVE], content_dir, TrainConfig(method="dumoulin", max_iterations=16, **TINY), vgg=vgg,
                verbose=False)
    h = res.history
    assert h.shape == (16, 5) and list(h[:, 0]) == list(range(1, 17))
    model = stylizer_from_training(res.model, res.meta)
    assert model.num_styles == 2 and model.styles == ["vangogh_starry_night", "hokusai_great_wave"]
    # per-style objective on a fixed batch, before (fresh init) and after training
    from nst.methods.training import perceptual_loss, style_targets
    import jax.numpy as jnp
    from flax import nnx
    from nst.io.images import load_image
    from nst.core.networks import TransformerNet

    cfg = TrainConfig(method="dumoulin", **TINY)
    grams = style_targets(vgg, [load_image(s, size=64) for s in (STARRY, WAVE)], cfg)
    x = jnp.asarray(ContentBatches(content_dir, 48, 2, seed=99).batch(0))
    fresh = TransformerNet(res.model.config, nnx.Rngs(cfg.seed))
    for s in range(2):
        w = jnp.asarray(np.eye(2, dtype=np.float32)[[s, s]])
        before = float(perceptual_loss(fresh(x, w), x, w, vgg, grams, cfg)[0])
        after = float(perceptual_loss(res.model(x, w), x, w, vgg, grams, cfg)[0])
        assert after < 0.7 * before, (s, before, after)


@pytest.mark.slow  # fast-tier budget; the fast tier trains with style_scales in test_create_trains_feedforward_models_turi_create_style
def test_style_scales_multiply_each_examples_style_term(content_dir, vgg):
    """s_k scales the style term of the examples trained towards style k, and nothing else."""
    import jax.numpy as jnp
    from nst.io.images import load_image
    from nst.methods.training import perceptual_loss, style_targets

    cfg = TrainConfig(method="dumoulin", tv_weight=1e-3, **TINY)
    scaled_cfg = TrainConfig(method="dumoulin", tv_weight=1e-3, style_scales=(3.0, 0.25), **TINY)
    grams = style_targets(vgg, [load_image(s, size=64) for s in (STARRY, WAVE)], cfg)
    x = jnp.asarray(ContentBatches(content_dir, 48, 2, seed=5).batch(0))
    out = jnp.asarray(np.random.default_rng(0).uniform(0, 1, x.shape).astype(np.float32))
    for k, scale in enumerate(scaled_cfg.style_scales):
        w = jnp.asarray(np.eye(2, dtype=np.float32)[[k, k]])
        total, m = perceptual_loss(out, x, w, vgg, grams, cfg)
        total_s, m_s = perceptual_loss(out, x, w, vgg, grams, scaled_cfg)
        assert float(m_s["style"]) == pytest.approx(scale * float(m["style"]), rel=1e-5)
        assert float(m_s["content"]) == float(m["content"]) and float(m_s["tv"]) == float(m["tv"])
        assert float(total_s) == pytest.approx(float(m["content"]) + scale * float(m["style"]) + float(m["tv"]),
                                               rel=1e-5)
    with pytest.raises(NSTError, match="style_scales"):
        TrainConfig(style_scales=(1.0, -1.0)).validate()
    with pytest.raises(NSTError, match="one value per style"):
        train([STARRY, WAVE], content_dir, TrainConfig(method="dumoulin", max_iterations=1, style_scales=(1.0,),
                                                       **TINY), vgg=vgg, verbose=False)


@pytest.mark.slow  # three training steps' compiles; the border options' checks stay fast (below)
def test_train_step_trains_the_network_with_its_train_border(content_dir, vgg):
    """``train_border`` > 0 puts the stylize border into the training forward pass: the step's loss is the
    objective of the bordered network's output (computed here outside the step), not of the bare one's."""
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from nst.core.networks import NetworkConfig, TransformerNet
    from nst.io.images import load_image
    from nst.methods.training import TrainState, make_train_step, optimizer, perceptual_loss, style_targets

    x = jnp.asarray(ContentBatches(content_dir, 48, 2, seed=3).batch(0))
    w = jnp.ones((2, 1), jnp.float32)
    net = TransformerNet(NetworkConfig(num_styles=1, width=0.25), nnx.Rngs(0))
    graphdef, params = nnx.split(net, nnx.Param)
    losses = {}
    for border, stage in ((0, "residual"), (8, "residual"), (8, "input")):
        cfg = TrainConfig(train_border=border, train_border_stage=stage, tv_weight=1e-3, **TINY).validate()
        grams = style_targets(vgg, [load_image(STARRY, size=64)], cfg)
        tx = optimizer(cfg, 1)
        state = TrainState(jax.tree.map(jnp.copy, params), tx.init(params), jnp.zeros((), jnp.int32))
        _, metrics = make_train_step(graphdef, tx, vgg, grams, cfg)(state, {"images": x, "style_weights": w})
        expected = perceptual_loss(net(x, w, border=border, border_stage=stage), x, w, vgg, grams, cfg)[0]
        assert float(metrics["loss"]) == pytest.approx(float(expected), rel=1e-4)
        losses[(border, stage)] = float(metrics["loss"])
    assert len({round(v, 3) for v in losses.values()}) == 3  # each border is another computation


def test_train_border_options_are_checked():
    """Bad ``train_border`` / ``train_border_stage`` values are refused with a message that names them."""
    for bad, match in (({"train_border": -4}, "train_border must be"), ({"train_border": 6}, "multiple of 4"),
                       ({"train_border": 10**6, "train_border_stage": "input"}, "0 to 256 pixels"),
                       ({"train_border_stage": "output"}, "train_border_stage")):
        with pytest.raises(NSTError, match=match):
            TrainConfig(**bad).validate()
    TrainConfig(train_border=6, train_border_stage="input").validate()


@pytest.mark.slow  # a training step's compile; the fast tier checks the VGG padding itself (test_weights.py)
def test_training_uses_the_loss_network_padding_it_is_given(content_dir, vgg):
    """``vgg_padding="reflect"``: the first step's loss is the objective on a reflecting VGG (computed here outside
    the loop, from the same fresh network and batch), and the model file records it; bad values are refused."""
    import jax.numpy as jnp
    from flax import nnx
    from nst.core.networks import TransformerNet
    from nst.io.images import load_image
    from nst.methods.training import perceptual_loss, style_targets

    cfg = TrainConfig(max_iterations=1, vgg_padding="reflect", **TINY).validate()
    res = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    assert res.meta["training"]["vgg_padding"] == "reflect"
    x = jnp.asarray(ContentBatches(content_dir, 48, 2, seed=cfg.seed).batch(0))
    w = jnp.ones((2, 1), jnp.float32)
    fresh = TransformerNet(res.model.config, nnx.Rngs(cfg.seed))
    first = {}
    for padding in ("reflect", "zero"):
        net = vgg.with_padding(padding)
        first[padding] = float(perceptual_loss(fresh(x, w), x, w, net, style_targets(net, [load_image(STARRY, size=64)],
                                                                                      cfg), cfg)[0])
    assert float(res.history[0, 1]) == pytest.approx(first["reflect"], rel=1e-4)
    assert abs(first["zero"] / first["reflect"] - 1) > 1e-3  # the padding changes the objective
    with pytest.raises(NSTError, match="padding must be 'zero' or 'reflect'"):
        TrainConfig(vgg_padding="mirror").validate()


def test_a_network_trained_with_a_border_is_stylized_with_it():
    """`stylize` runs the computation the network was trained in: a model whose training used a border
    defaults to that border and stage; a network trained bare gets the default against the edge line."""
    from flax import nnx
    from nst.core.networks import STYLIZE_BORDER, STYLIZE_BORDER_STAGE, NetworkConfig, TransformerNet
    from nst.interface.feedforward import JohnsonStylizer

    net = TransformerNet(NetworkConfig(num_styles=1, width=0.25), nnx.Rngs(0))
    meta = lambda **t: {"styles": ["s"], "training": TrainConfig(**t).to_dict()}  # noqa: E731
    bordered = JohnsonStylizer(net, meta(train_border=12, train_border_stage="input"))
    bare = JohnsonStylizer(net, meta())
    assert (bordered.border, bordered.border_stage) == (12, "input")
    assert (bare.border, bare.border_stage) == (STYLIZE_BORDER, STYLIZE_BORDER_STAGE)
    assert JohnsonStylizer(net, {"styles": ["s"]}).border == STYLIZE_BORDER  # files from before the option
    photo = np.random.default_rng(0).uniform(size=(40, 44, 3)).astype(np.float32)
    np.testing.assert_array_equal(bordered.stylize(photo), bare.with_border(12, "input").stylize(photo))
    assert not np.array_equal(bordered.stylize(photo), bare.stylize(photo))
    # an explicit border still wins, and with_border keeps the stage unless given
    assert (bordered.with_border(0).border, bordered.with_border(0).border_stage) == (0, "input")
    assert JohnsonStylizer(net, meta(train_border=12, train_border_stage="input"), border=4,
                           border_stage="residual").border_stage == "residual"


def test_loss_history_csv_reads_back_what_was_written(tmp_path):
    from nst.methods.training import read_history, write_history

    h = np.column_stack([np.arange(1, 6), np.random.default_rng(0).uniform(1e3, 1e7, (5, 4))])
    write_history(h, tmp_path / "m.nst")
    back = read_history(tmp_path / "m.nst")
    assert back.shape == (5, 5) and list(back[:, 0]) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(back, h, rtol=1e-5)  # the CSV keeps 6 significant digits


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_save_load_roundtrip_bit_exact(content_dir, vgg, tmp_path):
    res = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=2, **TINY), vgg=vgg,
                verbose=False)
    model = stylizer_from_training(res.model, res.meta)
    path = model.save(tmp_path / "m.nst")
    again = nst.load(path)
    assert type(again).__name__ == "JohnsonStylizer" and again.styles == ["vangogh_starry_night"]
    from nst.io.modelfile import flatten_tree

    a, b = flatten_tree(model._params), flatten_tree(again._params)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    img = DATA / "content" / "eval" / "skimage_chelsea.jpg"
    np.testing.assert_array_equal(model.stylize(img, style=0, max_size=97), again.stylize(img, style=0, max_size=97))
    assert again.meta["iterations"] == 2 and again.meta["training"]["image_size"] == 48
    assert again.stylize(img, style=0, max_size=97).shape == (65, 97, 3)


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_resume_equals_uninterrupted_run(content_dir, vgg, tmp_path):
    cfg = TrainConfig(method="johnson", max_iterations=6, **{**TINY, "checkpoint_every": 3})
    full = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    ck = tmp_path / "run.ckpt"
    # a finished 4-iteration run leaves the checkpoint of its last step (its periodic one at 3 is overwritten);
    # resuming it with a larger max_iterations goes on to the longer run's exact result
    part = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, checkpoint=ck, max_iterations=4)
    assert ck.exists() and part.history.shape[0] == 4
    from nst.io.modelfile import load_tensors

    assert load_tensors(ck)[0]["step"].tolist() == [4]
    resumed = train([STARRY], content_dir, TrainConfig(max_iterations=6), vgg=vgg, verbose=False, resume=ck)
    np.testing.assert_array_equal(resumed.history, full.history)
    from nst.io.modelfile import flatten_tree
    from flax import nnx

    a, b = flatten_tree(nnx.state(full.model, nnx.Param)), flatten_tree(nnx.state(resumed.model, nnx.Param))
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_adam_steps_follow_the_learning_rate_schedule_numpy_oracle(schedule):
    """Under a constant gradient Adam's bias-corrected step is exactly η_t per coordinate, so the updates read
    the schedule back: η, η(1 − t/T), η(1 + cos(πt/T))/2 for t = 0 … T−1 (NumPy)."""
    import jax.numpy as jnp

    from nst.methods.training import learning_rate_at, optimizer

    eta, total = 2e-3, 7
    cfg = TrainConfig(learning_rate=eta, lr_schedule=schedule)
    t = np.arange(total + 1, dtype=np.float64)
    expected = {"constant": np.full_like(t, eta), "linear": eta * (1 - t / total),
                "cosine": eta * 0.5 * (1 + np.cos(np.pi * t / total))}[schedule]
    np.testing.assert_allclose([float(learning_rate_at(cfg, total)(k)) for k in t], expected, rtol=1e-6, atol=1e-12)
    tx = optimizer(cfg, total)
    params = {"w": jnp.zeros(3)}
    state, steps = tx.init(params), []
    grad = {"w": jnp.asarray([0.5, -2.0, 3.0])}
    for _ in range(total):
        upd, state = tx.update(grad, state, params)
        steps.append(np.asarray(upd["w"]))
    # the update's size is η_t (to Adam's ε), against the gradient's sign
    np.testing.assert_allclose(np.abs(steps), np.repeat(expected[:total, None], 3, 1), rtol=1e-5, atol=1e-9)
    assert np.all(np.sign(steps) == -np.sign(np.asarray(grad["w"])))
    with pytest.raises(NSTError, match="lr_schedule"):
        TrainConfig(lr_schedule="step").validate()


@pytest.mark.slow  # the fast tier reads the schedule back from Adam's steps in the oracle test above
def test_a_decaying_run_resumes_to_the_same_run_and_refuses_to_go_past_its_end(content_dir, vgg, tmp_path):
    """A linear-decay run cut short resumes to the uninterrupted run; it cannot be extended, since its
    learning rate was set to reach 0 at its own max_iterations."""
    cfg = TrainConfig(method="johnson", max_iterations=3, lr_schedule="linear", **TINY)
    full = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    constant = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, lr_schedule="constant")
    assert full.history[0, 1] == constant.history[0, 1]  # same first step (η_0 = η) ...
    assert not np.array_equal(full.history[1:, 1], constant.history[1:, 1])  # ... then smaller ones
    ck = tmp_path / "run.ckpt"
    train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, checkpoint=ck, time_limit=1e-9)
    with pytest.raises(NSTError, match="cannot go on to 5"):
        train([STARRY], content_dir, TrainConfig(max_iterations=5), vgg=vgg, verbose=False, resume=ck)
    resumed = train([STARRY], content_dir, TrainConfig(), vgg=vgg, verbose=False, resume=ck)
    np.testing.assert_array_equal(resumed.history, full.history)
    assert resumed.meta["training"]["lr_schedule"] == "linear"


@pytest.mark.slow  # the fast tier resumes a finished run in test_resume_equals_uninterrupted_run
def test_time_limit_leaves_a_checkpoint_that_resumes_to_the_full_run(content_dir, vgg, tmp_path):
    """A run cut short by its time limit checkpoints the step it stopped at; resuming finishes the same run."""
    from nst.io.modelfile import load_tensors

    cfg = TrainConfig(method="johnson", max_iterations=3, **TINY)
    full = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    ck = tmp_path / "run.ckpt"
    cut = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, checkpoint=ck, time_limit=1e-9)
    assert cut.history.shape[0] == 1 and load_tensors(ck)[0]["step"].tolist() == [1]
    resumed = train([STARRY], content_dir, TrainConfig(), vgg=vgg, verbose=False, resume=ck)
    np.testing.assert_array_equal(resumed.history, full.history)


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_add_style_changes_only_new_rows(content_dir, vgg):
    from flax import nnx
    from nst.io.modelfile import flatten_tree

    res = train([STARRY, WAVE], content_dir, TrainConfig(method="dumoulin", max_iterations=2, **TINY), vgg=vgg,
                verbose=False)
    model = stylizer_from_training(res.model, res.meta)
    scream = DATA / "styles" / "munch_the_scream.jpg"
    bigger = model.add_style(scream, content=content_dir, max_iterations=3, verbose=False, vgg=vgg)
    assert bigger.num_styles == 3 and bigger.styles[-1] == "munch_the_scream"
    old, new = flatten_tree(nnx.state(model.model, nnx.Param)), flatten_tree(nnx.state(bigger.model, nnx.Param))
    changed_rows = 0
    for k, v in old.items():
        if k.split("/")[-2] == "norm":
            np.testing.assert_array_equal(new[k][:2], v)  # old styles' rows bit-identical
            changed_rows += int(not np.array_equal(new[k][2], v.mean(axis=0)))
        else:
            np.testing.assert_array_equal(new[k], v)  # shared convs bit-identical
    assert changed_rows > 0  # the new row did train


def test_model_file_errors(tmp_path):
    bad = tmp_path / "bad.nst"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(NSTError, match="not an nst model file|corrupt"):
        nst.load(bad)
    with pytest.raises(NSTError, match="no such model file"):
        nst.load(tmp_path / "missing.nst")
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(3, np.float32)}, str(tmp_path / "foreign.nst"))
    with pytest.raises(NSTError, match="not an nst model"):
        nst.load(tmp_path / "foreign.nst")


@pytest.mark.slow  # full tier: keeps the fast tier under its 4-minute budget
def test_truncated_model_file(content_dir, vgg, tmp_path):
    res = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=1, **TINY), vgg=vgg,
                verbose=False)
    path = stylizer_from_training(res.model, res.meta).save(tmp_path / "m.nst")
    data = path.read_bytes()
    (tmp_path / "t.nst").write_bytes(data[: len(data) // 2])
    with pytest.raises(NSTError, match="corrupt|truncated|not an nst"):
        nst.load(tmp_path / "t.nst")


@pytest.mark.slow
def test_two_device_data_parallel_matches_one_device(content_dir, tmp_path):
    script = (
        "import sys, numpy as np\n"
        "from nst.methods.training import train, TrainConfig\n"
        f"r = train([{str(STARRY)!r}], {str(content_dir)!r}, TrainConfig(method='johnson', max_iterations=3, "
        "batch_size=2, image_size=48, style_size=64, width=0.25, learning_rate=1e-2), verbose=False)\n"
        "import jax; print('DEVICES', len(jax.devices())); np.save(sys.argv[1], r.history)\n"
    )
    outs = []
    for n in (1, 2):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        out = tmp_path / f"h{n}.npy"
        r = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True,
                           cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert f"DEVICES {n}" in r.stdout
        outs.append(np.load(out))
    # the loss before and after the first update agree to float32 rounding: the shards' gradients are averaged over
    # the whole batch. Later updates drift further apart (the shards sum in another order, and Adam's normalised
    # step turns rounding in near-zero gradients into full-size steps), by how much depends on the CPU's kernels
    np.testing.assert_allclose(outs[0][:2, 1:], outs[1][:2, 1:], rtol=2e-4)
    np.testing.assert_allclose(outs[0][2:, 1:], outs[1][2:, 1:], rtol=1e-2)


def test_johnson_needs_exactly_one_style(content_dir):
    with pytest.raises(NSTError, match="exactly one style"):
        train([STARRY, WAVE], content_dir, TrainConfig(method="johnson", max_iterations=1, **TINY), verbose=False)


@pytest.mark.slow  # full tier: keeps the fast tier under its 4-minute budget
def test_create_trains_feedforward_models_turi_create_style(content_dir, vgg):
    model = nst.create([STARRY], content_dir, method="johnson", max_iterations=2, verbose=False, vgg=vgg, **TINY)
    assert model.method == "johnson" and model.meta["iterations"] == 2
    multi = nst.create([STARRY, WAVE], [content_dir / "kodak_kodim01.jpg"], max_iterations=1, verbose=False,
                       vgg=vgg, style_scales=(2.0, 0.5), **TINY)
    assert multi.method == "dumoulin" and multi.num_styles == 2  # Turi Create's model is the default
    assert list(multi.meta["training"]["style_scales"]) == [2.0, 0.5]  # recorded, so a fine-tune keeps them
    assert "vangogh_starry_night" in multi.summary() and multi.get_styles() == multi.styles
    with pytest.raises(NSTError, match="unknown option"):
        nst.create([STARRY], content_dir, method="johnson", epochs=3)


@pytest.mark.slow  # the fast tier resumes in test_resume_equals_uninterrupted_run
def test_ctrl_c_writes_checkpoint_and_resume_continues(content_dir, vgg, tmp_path, monkeypatch):
    from nst.methods.training import loop as T
    from nst.io.modelfile import load_tensors

    cfg = TrainConfig(method="johnson", max_iterations=5, **TINY)
    real = T.make_train_step

    def interrupting(*args, **kwargs):
        step, calls = real(*args, **kwargs), {"n": 0}

        def wrapped(state, batch):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return step(state, batch)

        return wrapped

    ck = tmp_path / "m.ckpt"
    monkeypatch.setattr(T, "make_train_step", interrupting)
    with pytest.raises(T.TrainingInterrupted, match="interrupted at iteration 2.*--resume"):
        train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, checkpoint=ck)
    monkeypatch.undo()
    assert load_tensors(ck)[0]["step"].tolist() == [2]
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]  # no temporary files left
    resumed = train([STARRY], content_dir, TrainConfig(), vgg=vgg, verbose=False, resume=ck)
    full = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    np.testing.assert_array_equal(resumed.history, full.history)


@pytest.mark.slow  # the fast tier fine-tunes in test_cli_train.py::test_train_from_fine_tunes_the_whole_model
def test_fine_tune_starts_from_the_given_model(content_dir, vgg):
    """init=(model, meta) warm-starts every parameter: at learning rate 0 the result is the model itself."""
    import jax

    from nst.io.modelfile import flatten_tree
    from flax import nnx

    first = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=2, **TINY), vgg=vgg,
                  verbose=False)
    same = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=1, tv_weight=1.0,
                                                    **{**TINY, "learning_rate": 0.0, "width": 1.0}),
                 init=(first.model, first.meta), vgg=vgg, verbose=False)
    a, b = (flatten_tree(nnx.state(m, nnx.Param)) for m in (first.model, same.model))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert same.meta["network"]["width"] == 0.25  # taken from the model, not the config
    assert same.meta["init_from"]["iterations"] == 2 and same.meta["iterations"] == 1
    from nst.methods.training import describe_training

    assert describe_training(same.meta) == "2 it. (cpu, batch 2, TV 0) + 1 it. (cpu, batch 2, TV 1)"
    moved = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=2, tv_weight=1.0, **TINY),
                  init=(first.model, first.meta), vgg=vgg, verbose=False)
    assert same.history[0, 1] == pytest.approx(moved.history[0, 1], rel=1e-6)  # same start, same first batch
    assert not np.array_equal(jax.tree.leaves(nnx.state(moved.model, nnx.Param))[0],
                              jax.tree.leaves(nnx.state(first.model, nnx.Param))[0])
    first.model(np.zeros((1, 32, 32, 3), np.float32), np.ones((1, 1), np.float32))  # still usable (not donated)
    with pytest.raises(NSTError, match="style images the model was trained on"):
        train([WAVE], content_dir, TrainConfig(method="johnson", max_iterations=1, **TINY),
              init=(first.model, first.meta), vgg=vgg, verbose=False)
    with pytest.raises(NSTError, match="cannot fine-tune a johnson model as dumoulin"):
        train([STARRY], content_dir, TrainConfig(method="dumoulin", max_iterations=1, **TINY),
              init=(first.model, first.meta), vgg=vgg, verbose=False)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["before-step-2", "after-step-3", "inside-flush", "inside-checkpoint"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_anywhere_checkpoints_a_consistent_state(content_dir, vgg, tmp_path, monkeypatch, where, sig):
    """SIGINT or SIGTERM at several points of a run (inside a step, inside the history flush, inside a
    checkpoint write): the checkpoint's history matches its step, and the resumed run's history equals the
    uninterrupted run's row for row."""
    import os
    import signal as signals

    from nst.io import progress
    from nst.io.modelfile import load_tensors
    from nst.methods.training import loop as T

    number = getattr(signals, sig)
    cfg = TrainConfig(method="johnson", max_iterations=6, **{**TINY, "checkpoint_every": 2})
    full = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    real_step, real_update, real_save = T.make_train_step, progress.ProgressTable.update, T.save_tensors
    calls = {"step": 0, "update": 0, "save": 0}

    def kill() -> None:
        os.kill(os.getpid(), number)

    def stepping(*a, **k):
        step = real_step(*a, **k)

        def wrapped(state, batch):
            calls["step"] += 1
            if where == "before-step-2" and calls["step"] == 2:
                kill()
            out = step(state, batch)
            if where == "after-step-3" and calls["step"] == 3:
                kill()
            return out

        return wrapped

    def updating(self, *a, **k):
        calls["update"] += 1
        if where == "inside-flush" and calls["update"] == 2:
            kill()
        return real_update(self, *a, **k)

    def saving(*a, **k):
        calls["save"] += 1
        if where == "inside-checkpoint" and calls["save"] == 1:
            kill()
        return real_save(*a, **k)

    monkeypatch.setattr(T, "make_train_step", stepping)
    monkeypatch.setattr(progress.ProgressTable, "update", updating)
    monkeypatch.setattr(T, "save_tensors", saving)
    ck = tmp_path / "m.ckpt"
    with pytest.raises(T.TrainingInterrupted, match="interrupted at iteration"):
        train([STARRY], content_dir, cfg, vgg=vgg, verbose=False, checkpoint=ck, progress_seconds=0.0)
    monkeypatch.undo()
    tensors = load_tensors(ck)[0]
    step, hist = int(tensors["step"][0]), tensors["history"]
    assert hist.shape[0] == step and hist[:, 0].tolist() == list(range(1, step + 1))  # one row per step, once
    resumed = train([STARRY], content_dir, TrainConfig(), vgg=vgg, verbose=False, resume=ck)
    np.testing.assert_array_equal(resumed.history, full.history)


@pytest.mark.slow  # full tier: fast tier budget (the network and its export are tested in the fast tier)
def test_a_photo_residual_network_trains_saves_loads_and_fine_tunes_as_one(content_dir, vgg, tmp_path):
    """`TrainConfig.network_output` reaches the network, its file and a fine-tune of it; a file without the key
    (every model saved before the option) reads as the papers' sigmoid network."""
    cfg = TrainConfig(method="johnson", max_iterations=2, network_output="photo_residual", **TINY)
    res = train([STARRY], content_dir, cfg, vgg=vgg, verbose=False)
    assert res.model.config.output == "photo_residual" and res.meta["network"]["output"] == "photo_residual"
    model = stylizer_from_training(res.model, res.meta)
    again = nst.load(model.save(tmp_path / "r.nst"))
    assert again.model.config.output == "photo_residual"
    img = DATA / "content" / "eval" / "skimage_chelsea.jpg"
    np.testing.assert_array_equal(model.stylize(img, style=0, max_size=64), again.stylize(img, style=0, max_size=64))
    tuned = train([STARRY], content_dir, TrainConfig(method="johnson", max_iterations=1, **TINY),
                  init=(res.model, res.meta), vgg=vgg, verbose=False)
    assert tuned.model.config.output == "photo_residual" and tuned.meta["training"]["network_output"] == "photo_residual"
    with pytest.raises(NSTError, match="network_output"):
        TrainConfig(network_output="tanh").validate()
    # the same file without the keys: an older model, the sigmoid network
    from nst.io.modelfile import load_tensors, save_tensors

    tensors, meta = load_tensors(tmp_path / "r.nst")
    del meta["network"]["output"], meta["training"]["network_output"]
    save_tensors(tmp_path / "old.nst", tensors, meta)
    old = nst.load(tmp_path / "old.nst")
    assert old.model.config.output == "sigmoid" and old.meta["network"] == {"num_styles": 1, "width": 0.25,
                                                                          "num_residual": 5}
