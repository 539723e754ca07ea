"""The common interface: style argument semantics, output order and labels, nst.create."""

import numpy as np
import pytest

import nst
from nst.errors import NSTError
from nst.interface.base import resolve_styles


def test_resolve_styles_semantics():
    specs, single = resolve_styles(2, 4)
    assert single and specs[0].label == 2 and specs[0].weights.tolist() == [0, 0, 1, 0]
    specs, single = resolve_styles(None, 3)
    assert not single and [s.label for s in specs] == [0, 1, 2]
    specs, single = resolve_styles([2, 0], 3)
    assert not single and [s.label for s in specs] == [2, 0]
    specs, single = resolve_styles({0: 1.0, 2: 3.0}, 3)
    assert single and np.allclose(specs[0].weights, [0.25, 0, 0.75])  # normalised


@pytest.mark.parametrize("bad,match", [
    (5, r"out of range.*valid indices 0\.\.2"), (-1, "out of range"), ({0: -1.0}, "non-negative"),
    ({0: float("nan")}, "finite"), ({0: 0.0, 1: 0.0}, "all zero"), ({7: 1.0}, "out of range"),
    ("a", "must be None"), ([], "empty"), (1.5, "must be None"),
])
def test_resolve_styles_errors(bad, match):
    with pytest.raises(NSTError, match=match):
        resolve_styles(bad, 3)


def test_create_gatys_and_stylize_order_and_labels(vgg, content_path, style_path, tmp_path):
    from tests.conftest import DATA

    wave = DATA / "styles" / "hokusai_great_wave.jpg"
    model = nst.create([style_path, wave], method="gatys", size=48, steps=2, verbose=False)
    assert model.styles == ["vangogh_starry_night", "hokusai_great_wave"] and model.num_styles == 2
    one = model.stylize(content_path, style=1)
    assert isinstance(one, np.ndarray) and one.shape == (32, 48, 3)
    cat = DATA / "content" / "eval" / "skimage_chelsea.jpg"
    outs = model.stylize([content_path, cat], style=None)
    assert [(o.content_index, o.style) for o in outs] == [(0, 0), (0, 1), (1, 0), (1, 1)]  # image-major
    assert outs[3].content_name == "skimage_chelsea" and outs[3].style_name == "hokusai_great_wave"
    blend = model.stylize(content_path, style={0: 1, 1: 1})
    assert isinstance(blend, np.ndarray)
    # method may come first, as in issue #2's nst.create(method, styles)
    assert nst.create("gatys", [style_path], size=48, steps=1, verbose=False).styles == ["vangogh_starry_night"]
    with pytest.raises(NSTError, match="unknown method"):
        nst.create([style_path], method="magic")
    with pytest.raises(NSTError, match="unknown option"):
        nst.create([style_path], method="gatys", stepz=3)
    assert not hasattr(model, "save") and not hasattr(model, "export")  # Gatys has no trained state


def test_seed_zero_can_be_asked_for_and_details_come_with_each_output(vgg, content_path, style_path):
    """``seed=None`` means the stylizer's own seed; any integer, 0 included, overrides it."""
    model = nst.create("gatys", [style_path], size=32, steps=1, init="noise", seed=5, verbose=False)
    own, five, zero = (model.stylize([content_path], style=0, seed=s)[0] for s in (None, 5, 0))
    np.testing.assert_array_equal(own.image, five.image)
    assert np.abs(own.image - zero.image).max() > 0.01  # another noise start
    assert set(own.details) >= {"seconds", "losses", "history"} and len(own.details["history"]) == 1
    assert own.details["losses"]["total"] == pytest.approx(sum(v for k, v in own.details["losses"].items()
                                                                if k != "total"))
