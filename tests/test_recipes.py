"""Each paper's loss, computed in its own normalisation with NumPy on our VGG19 features, equals our
objective with the recipe's converted weights (docs/recipes.md has the derivations)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import nst
from nst.core.objective import PerceptualObjective
from nst.errors import NSTError
from nst.recipes import RECIPES, get_recipe, gatys_weights, with_recipe

SIZE = 64
REL = 1e-5


@pytest.fixture(scope="module")
def images(content_path, style_path):
    from tests.conftest import DATA

    x = nst.load_image(DATA / "content" / "eval" / "skimage_chelsea.jpg", size=(SIZE, SIZE))
    p = nst.load_image(content_path, size=(SIZE, SIZE))
    a = nst.load_image(style_path, size=(SIZE, SIZE))
    return x, p, a


def features(vgg, image, layers):
    f = vgg(jnp.asarray(image)[None], list(layers))
    return {n: np.asarray(v[0], np.float64).reshape(-1, v.shape[-1]) for n, v in f.items()}  # (M, N)


def ours(vgg, recipe_or_objective, x, p, a, pooling="max"):
    obj = recipe_or_objective if isinstance(recipe_or_objective, PerceptualObjective) else recipe_or_objective.objective()
    vgg = vgg.with_pooling(pooling)
    terms = obj.terms(vgg, jnp.asarray(x)[None], obj.content_targets(vgg, jnp.asarray(p)[None]),
                      obj.style_targets(vgg, [a]), jnp.ones((1,)))
    return float(terms["content"][0] + terms["style"][0]), float(terms["tv"][0])


def test_gatys2016_sum_based_loss_equals_ours_with_size_dependent_alpha(vgg, images):
    x, p, a = images
    r = get_recipe("gatys2016")
    layers = ("relu4_2",) + r.style_layers
    v = vgg.with_pooling("avg")
    fx, fp, fa = (features(v, im, layers) for im in (x, p, a))
    alpha, beta = 1.0, 1e3
    content = 0.5 * ((fx["relu4_2"] - fp["relu4_2"]) ** 2).sum()
    style = 0.0
    for n in r.style_layers:
        m, c = fx[n].shape
        g, gt = fx[n].T @ fx[n], fa[n].T @ fa[n]  # unnormalised Grams, Eq. 3
        style += 0.2 * ((g - gt) ** 2).sum() / (4 * c**2 * m**2)
    paper = alpha * content + beta * style
    a_conv, w_conv = gatys_weights(alpha, beta, SIZE, SIZE)
    obj = PerceptualObjective(("relu4_2",), r.style_layers, w_conv, a_conv, 1.0, 0.0)
    assert ours(vgg, obj, x, p, a, "avg")[0] == pytest.approx(paper, rel=REL)
    # the committed recipe is the same conversion at 512 × 512, divided by α'
    a512, w512 = gatys_weights(1.0, 1e3, 512, 512)
    assert r.paper_scale == a512 and r.style_layer_weights == pytest.approx([w / a512 for w in w512], rel=1e-12)


def test_johnson2016_reference_implementation_equals_ours(vgg, images):
    x, p, a = images
    r = get_recipe("johnson2016")
    fx, fp, fa = (features(vgg, im, ("relu3_3",) + r.style_layers) for im in (x, p, a))
    content = 1.0 * ((fx["relu3_3"] - fp["relu3_3"]) ** 2).mean()  # nn.MSECriterion
    style = 0.0
    for n in r.style_layers:
        m, c = fx[n].shape
        g, gt = fx[n].T @ fx[n] / (c * m), fa[n].T @ fa[n] / (c * m)  # GramMatrix.lua: / (C·H·W)
        style += 5.0 * ((g - gt) ** 2).mean()
    assert ours(vgg, r, x, p, a)[0] == pytest.approx(content + style, rel=REL)


def test_johnson2016_total_variation_scale(vgg, images):
    """TotalVariation.lua is the gradient of (strength/2)·Σ(255·Δ)², summed over the batch while the MSE
    terms average over it: per example B·strength/2·255²·ΣΔ².  Over every neighbour pair (theirs stops one
    row and column short) that is our γ'·L_tv to within the pair counts' ratio."""
    x = images[0]
    r = get_recipe("johnson2016")
    b, strength, size = r.training["batch_size"], 1e-6, r.training["image_size"]
    dy, dx = np.diff(x, axis=0), np.diff(x, axis=1)
    theirs = b * strength / 2 * 255.0**2 * ((dy**2).sum() + (dx**2).sum())
    ours_tv = r.tv_weight * ((dy**2).mean() + (dx**2).mean())
    h, w = x.shape[:2]
    # γ' scales with the pixel count (theirs is a sum, ours a mean); our means divide by (H-1)·W·3 and
    # H·(W-1)·3 where the conversion uses H·W·3: equal up to one row/column in H
    assert ours_tv * (h * w) / size**2 == pytest.approx(theirs, rel=2.0 / min(h, w))


def test_dumoulin2017_magenta_equals_ours_exactly(vgg, images):
    x, p, a = images
    r = get_recipe("dumoulin2017")
    fx, fp, fa = (features(vgg, im, ("relu3_3",) + r.style_layers) for im in (x, p, a))
    content = 1.0 * ((fx["relu3_3"] - fp["relu3_3"]) ** 2).mean()  # learning.content_loss
    style = sum(1e-4 * ((fx[n].T @ fx[n] / len(fx[n]) - fa[n].T @ fa[n] / len(fa[n])) ** 2).mean()
                for n in r.style_layers)  # learning.gram_matrix divides by H·W
    assert ours(vgg, r, x, p, a)[0] == pytest.approx(content + style, rel=REL)


def test_magenta_recipe_is_dumoulin2017_with_magentas_pooling_and_style_size(vgg, images):
    """Magenta's vgg_16 averages (pooling='avg' by default) and its style Grams come from the file as
    stored: the loss, computed as learning.py does on average-pooled features, equals ours under the
    recipe's pooling, and the recipe trains with the style image unresized."""
    from nst.methods.training import TrainConfig

    x, p, a = images
    r, d = get_recipe("magenta"), get_recipe("dumoulin2017")
    assert r.objective() == d.objective() and (r.pooling, d.pooling) == ("avg", "max")
    v = vgg.with_pooling("avg")
    fx, fp, fa = (features(v, im, ("relu3_3",) + r.style_layers) for im in (x, p, a))
    content = ((fx["relu3_3"] - fp["relu3_3"]) ** 2).mean()
    style = sum(1e-4 * ((fx[n].T @ fx[n] / len(fx[n]) - fa[n].T @ fa[n] / len(fa[n])) ** 2).mean()
                for n in r.style_layers)
    assert ours(vgg, r, x, p, a, r.pooling)[0] == pytest.approx(content + style, rel=REL)
    assert ours(vgg, r, x, p, a, "max")[0] != pytest.approx(content + style, rel=1e-3)  # pooling matters
    cfg = TrainConfig(**with_recipe({"recipe": "magenta"}, "train")).validate()
    assert cfg.style_size is None and cfg.pooling == "avg"
    assert "style_coefficients" in r.sources and any("pooling" in t for t in d.departures)


def test_turicreate_equals_ours_times_its_scale(vgg, images):
    x, p, a = images
    r = get_recipe("turicreate")
    v = vgg.with_pooling("avg")
    fx, fp, fa = (features(v, im, ("relu3_3",) + r.style_layers) for im in (x, p, a))
    l2 = lambda u, t: 0.5 * ((u - t) ** 2).mean()  # noqa: E731 - gluon.loss.L2Loss
    content = 1.0 * l2(fp["relu3_3"], fx["relu3_3"])
    style = sum(1e-4 * l2(fa[n].T @ fa[n] / len(fa[n]), fx[n].T @ fx[n] / len(fx[n])) for n in r.style_layers)
    turi = (content + style) / 10000.0
    assert r.paper_scale * ours(vgg, r, x, p, a, "avg")[0] == pytest.approx(turi, rel=REL)


def test_recipes_are_complete_and_apply_under_explicit_options():
    for r in RECIPES.values():
        assert len(r.style_layer_weights) == len(r.style_layers) and r.sources and r.citation
        r.objective()  # valid layers and weights
    opts = with_recipe({"recipe": "dumoulin2017", "batch_size": 2}, "train")
    assert opts["batch_size"] == 2 and opts["content_layers"] == ("relu3_3",) and opts["learning_rate"] == 1e-3
    assert with_recipe({"steps": 3}, "gatys") == {"steps": 3}
    with pytest.raises(NSTError, match="unknown recipe"):
        get_recipe("picasso1907")


def test_recipe_reaches_training_and_gatys_configs(content_path, style_path, tmp_path):
    from nst.methods.training import TrainConfig

    cfg = TrainConfig(**{**with_recipe({"recipe": "turicreate"}, "train"), "method": "dumoulin"}).validate()
    assert cfg.pooling == "avg" and cfg.objective() == get_recipe("turicreate").objective()
    g = nst.create("gatys", [style_path], recipe="gatys2016", steps=1, size=32, verbose=False)
    assert g.config.init == "noise" and g.config.pooling == "avg" and g.config.recipe == "gatys2016"
    out = g.stylize(content_path, style=0)
    assert out.shape[:2] == (21, 32) and np.isfinite(out).all()


def test_the_docs_table_is_the_generated_one():
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "recipes.md").read_text()
    table = text.split("<!-- recipes-table -->\n")[1].split("\n<!-- /recipes-table -->")[0]
    from nst.recipes import markdown_table

    assert table == markdown_table()


def test_the_default_training_loss_is_the_recipe_the_study_picked():
    from nst.methods.training import TrainConfig

    assert TrainConfig().objective() == get_recipe("dumoulin2017").objective()
    old = TrainConfig(**{k: v for k, v in with_recipe({"recipe": "nst2026"}, "train").items()})
    assert old.objective() == PerceptualObjective(("relu2_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
                                                  (2.5e-6,) * 4, 1.0, 1.0, 0.0)


def test_gatys_default_recipe_is_the_objective_gatys_optimises_by_default():
    from nst.methods.gatys import GatysConfig

    ours, gatys = get_recipe("gatys_default").objective(), GatysConfig().objective()
    assert (ours.content_layers, ours.style_layers) == (gatys.content_layers, gatys.style_layers)
    assert ours.content_weight == gatys.content_weight and ours.tv_weight == gatys.tv_weight
    assert [ours.style_weight * w for w in ours.layer_weights] == pytest.approx(
        [gatys.style_weight * w for w in gatys.layer_weights], rel=1e-12)


def test_choosing_style_layers_keeps_the_default_per_layer_weight():
    from nst.methods.training import TrainConfig

    obj = TrainConfig(style_layers=("relu1_1", "relu2_1")).validate().objective()
    assert obj.layer_weights == (1e-4, 1e-4)
    with pytest.raises(NSTError, match="one weight per style layer"):
        TrainConfig(style_layers=("relu1_1", "relu2_1"), style_layer_weights=(1.0, 2.0, 3.0)).validate()
