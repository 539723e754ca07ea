"""Feedforward stylizing of many images: a stream that decodes ahead and batches same-size pictures,
equal to stylizing each picture alone, in order, in bounded memory, with every header checked first."""

import numpy as np
import pytest
from PIL import Image

import nst.interface.feedforward as ff
from conftest import tiny_stylizer
from nst.errors import NSTError


@pytest.fixture(scope="module")
def model():
    return tiny_stylizer(3)


@pytest.fixture
def folder(tmp_path):
    """Seven photos: sizes 64x48 (3), 80x64 (1), 64x48 (2), 48x64 (1), so batches must break on size."""
    rng = np.random.default_rng(0)
    sizes = [(64, 48)] * 3 + [(80, 64)] + [(64, 48)] * 2 + [(48, 64)]
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"p{i}.png")
    return tmp_path


# fast-tier budget: batch size 1 stays in the fast tier, 3 and 8 run in the full tier
@pytest.mark.parametrize("batch_size", [1, pytest.param(3, marks=pytest.mark.slow),
                                        pytest.param(8, marks=pytest.mark.slow)])
def test_stream_equals_stylizing_each_picture_alone(model, folder, batch_size):
    files = sorted(folder.glob("*.png"))
    blend = {0: 0.5, 2: 0.5}
    for style, labels in (([0, 2], (0, 2)), (blend, (blend,))):
        stream = list(model.stylize_stream(folder, style=style, batch_size=batch_size))
        assert [(r.content_name, r.style) for r in stream] == [(f.stem, s) for f in files for s in labels]
        for r in stream:
            alone = model.stylize(files[r.content_index], style=r.style)
            np.testing.assert_allclose(r.image, alone, atol=2e-5)
    assert [r.content_name for r in model.stylize(folder, style=0)] == [f.stem for f in files]


def test_stream_batches_same_size_neighbours_and_decodes_a_bounded_distance_ahead(model, folder, monkeypatch):
    calls, batches = [], []
    real_load, real_run = ff.load_image, model._run

    def counting_load(src, **kw):
        calls.append(src)
        return real_load(src, **kw)

    monkeypatch.setattr(ff, "load_image", counting_load)
    monkeypatch.setattr(model, "_run", lambda x, w: batches.append(x.shape) or real_run(x, w))
    stream = model.stylize_stream(folder, style=0, batch_size=3, prefetch=1)
    next(stream)
    assert len(calls) <= 3 + 1  # the first batch, plus prefetch decoded ahead
    list(stream)
    assert [s[0] for s in batches] == [3, 1, 2, 1]  # 64x48 ×3 | 80x64 | 64x48 ×2 | 48x64
    monkeypatch.setattr(ff, "available_memory", lambda: 3 * (48 + 35) * (64 + 35) * ff.STYLIZE_BYTES_PER_PIXEL)
    batches.clear()
    list(model.stylize_stream(folder, style=0, batch_size=8))
    assert max(s[0] for s in batches) <= 3  # memory, not the asked batch size, bounds each pass


def test_a_bad_file_anywhere_stops_the_stream_before_the_first_picture(model, folder):
    (folder / "p9.png").write_bytes(b"not a picture")
    stream = model.stylize_stream(folder, style=0)
    with pytest.raises(NSTError, match="p9.png: not an image"):
        next(stream)
    with pytest.raises(NSTError, match="batch_size"):
        next(model.stylize_stream(folder, style=0, batch_size=0))


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
def test_cli_writes_a_folder_in_order(model, folder, tmp_path, capsys):
    from nst.cli import main

    path = model.save(tmp_path / "tiny.nst")
    out = tmp_path / "out"
    assert main(["stylize", str(folder), "--model", str(path), "--style", "1", "-o", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    names = [f"p{i}_style1.png" for i in range(7)]
    assert [p.split("/")[-1] for p in printed] == names and sorted(x.name for x in out.iterdir()) == names
