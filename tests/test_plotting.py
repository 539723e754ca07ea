"""Notebook helpers: colour scales, labelled grids, the recorded run time a notebook prints."""

import json

import matplotlib
import numpy as np

matplotlib.use("Agg")

from nst import plotting  # noqa: E402


def test_show_images_puts_a_colour_scale_beside_each_map_only():
    rng = np.random.default_rng(0)
    fig = plotting.show_images([rng.random((8, 8)), rng.random((8, 8, 3))], ["map", "picture"], colorbar="units")
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert len(fig.axes) == 3 and labels.count("units") == 1  # two panels and one colour bar
    assert len(plotting.show_images([rng.random((8, 8))]).axes) == 1


def test_show_grid_draws_labels_over_columns_and_beside_rows():
    cells = [[np.zeros((32, 32, 3)), np.ones((32, 32, 3))]]
    plain = plotting.show_grid(cells, cell=32).axes[0].images[0].get_array()
    labelled = plotting.show_grid(cells, ["a", "b"], ["row"], column_images=[None, np.ones((16, 16, 3))],
                                  cell=32, title="t").axes[0]
    grid = labelled.images[0].get_array()
    assert grid.shape[0] > plain.shape[0] and grid.shape[1] > plain.shape[1] and labelled.get_title() == "t"


def test_recorded_run_time_reads_results_notebooks(tmp_path, monkeypatch):
    import nst.io.files

    monkeypatch.setattr(nst.io.files, "find_project_dir", lambda: tmp_path)
    assert "not recorded yet" in plotting.recorded_run_time("01_x")
    (tmp_path / "results" / "notebooks").mkdir(parents=True)
    (tmp_path / "results" / "notebooks" / "timings.json").write_text(json.dumps({"01_x": {
        "full": {"seconds": 95.2, "date": "2026-11-27", "machine": "cpu (2 cores)"},
        "quick": {"seconds": 31.0, "date": "2026-11-27", "machine": "cpu (2 cores)"}}}))
    line = plotting.recorded_run_time("01_x")
    assert line == ("recorded run time on cpu (2 cores): full mode 95 s (2026-11-27), "
                    "quick mode (NST_QUICK=1) 31 s (2026-11-27)")
    assert "not recorded yet" in plotting.recorded_run_time("02_y")


def test_wrap_label_breaks_between_words_and_inside_a_word_too_wide_for_the_cell():
    from nst.io.images import wrap_label

    width = len  # one unit per character
    assert wrap_label("dumoulin2017 +relu4_1:1e-5 TV=1e6", width, 26) == ["dumoulin2017 +relu4_1:1e-5", "TV=1e6"]
    assert wrap_label("decayed", width, 20) == ["decayed"]
    # a single word wider than the cell breaks after its underscores, without spaces
    assert wrap_label("scaled_decayed_relu4_1", width, 16) == ["scaled_decayed_", "relu4_1"]
    assert all(len(line) <= 16 for line in wrap_label("scaled_decayed_relu4_1", width, 16))
    # left over past the last line: an ellipsis
    assert wrap_label("a b c", width, 1) == ["a", "b…"]
