"""experiments.provenance: which committed pages were made from which inputs, and which are stale now."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from experiments import provenance

ROOT = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git")
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q")
    git(r, "config", "user.email", "t@example.org")
    git(r, "config", "user.name", "t")
    return r


def model_bytes(tensors: dict, meta: dict) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata={"nst": json.dumps(meta)})


def page(repo: Path, name: str, rows: str, info: dict | None = None) -> None:
    folder = repo / "results" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "raw.csv").write_text(rows)
    (folder / "run.json").write_text(json.dumps({"command": f"make {name}", "start": "2026-11-29 10:00:00",
                                                 "end": "2026-11-29 10:30:00", **(info or {})}))


def test_blob_ids_are_gits(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git")
    f = tmp_path / "f.bin"
    data = bytes(range(256)) * 3 + b"\0tail"
    f.write_bytes(data)
    assert provenance.git_blob_id(data) == subprocess.run(["git", "hash-object", str(f)], capture_output=True,
                                                          text=True, check=True).stdout.strip()
    assert provenance.git_blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


@pytest.mark.parametrize("old, new, kept", [
    ("id,x\na,1\nb,2\n", "id,x\na,1\nb,2\nc,3\n", True),  # rows appended
    ("id,x\na,1\nb,2\n", "id,x,y\nb,2,9\na,1,8\n", True),  # a new column, rows reordered
    ("id,x\na,1\nb,2\n", "id,x\na,1\nb,3\n", False),  # a value changed
    ("id,x\na,1\nb,2\n", "id,x\na,1\n", False),  # a row lost
    ("id,x\n", "id,x\na,1\n", True),
])
def test_rows_kept(old, new, kept):
    assert provenance.rows_kept(old, new) is kept


def test_same_model_ignores_only_the_digest():
    t = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    meta = {"format": "nst", "styles": ["a"]}
    base = model_bytes(t, meta)
    assert provenance.same_model(base, model_bytes(t, {**meta, "tensor_sha256": "ab" * 32}))
    assert not provenance.same_model(base, model_bytes({"w": t["w"] + 1}, meta))
    assert not provenance.same_model(base, model_bytes(t, {**meta, "styles": ["b"]}))
    assert not provenance.same_model(base, b"not a model")


def test_undeclared_allows_declared_files_folders_and_run_json():
    opened = {"results/models/a.nst", "results/models/a.loss.csv", "results/fid/cells/x.png", "results/fid/run.json",
              "results/other/raw.csv", "results/models/ab.loss.csv", "results/fidelity/raw.csv"}
    assert provenance.undeclared(opened, ["results/models/a.nst", "results/fid"]) == [
        "results/fidelity/raw.csv", "results/models/ab.loss.csv", "results/other/raw.csv"]


def test_input_watch_records_reads_under_results_not_writes_nor_its_own_folder(tmp_path):
    root = tmp_path / "root"
    (root / "results" / "src").mkdir(parents=True)
    (root / "results" / "out").mkdir(parents=True)
    src, own, elsewhere = root / "results/src/raw.csv", root / "results/out/raw.csv", tmp_path / "x.txt"
    for f in (src, own, elsewhere):
        f.write_text("id\n")
    with provenance.InputWatch(root / "results" / "out", root) as watch:
        src.read_text()
        own.read_text()
        elsewhere.read_text()
        (root / "results/src/new.txt").write_text("written")
        import sys

        sys.audit("nst.read_model", str(root / "results/src/raw.csv"))
    src.read_text()  # after the watch: not recorded by it
    assert watch.opened == {"results/src/raw.csv"}


def test_stale_pages_follow_a_changed_model_through_the_pages_that_read_it(repo):
    """Page `scores` read the model; page `summary` read `scores`' rows; `photos` read nothing that changed.  A new
    model makes `scores` stale (the model changed) and `summary` stale (it waits for `scores`), in that order; a
    model saved again with only its digest added, or rows only appended to `scores`, make nothing stale."""
    t = {"w": np.ones((2, 2), np.float32)}
    (repo / "results/models").mkdir(parents=True)
    model = repo / "results/models/m.nst"
    model.write_bytes(model_bytes(t, {"format": "nst"}))
    page(repo, "scores", "id,v\na,1\n")
    page(repo, "summary", "id,v\ns,1\n")
    page(repo, "photos", "id\np\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")
    pages = {"summary": ("results/summary", ["results/scores"], "make summary"),
             "scores": ("results/scores", ["results/models/m.nst"], "make scores"),
             "photos": ("results/photos", [], "make photos")}

    def stale():
        return [(s.page, s.changed, s.waits_for) for s in provenance.stale_pages(pages, repo) if s.stale]

    assert stale() == []
    model.write_bytes(model_bytes(t, {"format": "nst", "tensor_sha256": "00" * 32}))  # re-saved with its digest
    (repo / "results/scores/raw.csv").write_text("id,v\na,1\nb,2\n")  # a row added
    assert stale() == []
    model.write_bytes(model_bytes({"w": t["w"] * 2}, {"format": "nst"}))  # a new model
    assert stale() == [("scores", ["results/models/m.nst"], []), ("summary", [], ["scores"])]
    states = provenance.stale_pages(pages, repo)
    assert [s.page for s in states].index("scores") < [s.page for s in states].index("summary")
    table = provenance.render(states, root=repo)
    assert "| scores | stale | results/models/m.nst |" in table and "| summary | stale |  | scores |" in table
    assert "2 of 3 pages stale" in table and "photos" not in table
    (repo / provenance.PENDING_FILE).write_text(json.dumps({"summary": "after the next CPU session"}))
    assert provenance.pending(repo) == {"summary": "after the next CPU session"}
    assert provenance.write_pending(states, "new model", repo) == ["scores", "summary"]  # `summary` keeps its reason
    assert provenance.pending(repo) == {"scores": "new model", "summary": "after the next CPU session"}
    assert "| summary | stale (pending: after the next CPU session) |" in provenance.render(states, root=repo)

    # `scores` runs again: its run.json records the inputs it read, and `summary` now reads changed rows
    page(repo, "scores", "id,v\na,5\n", {"inputs": provenance.input_blobs(["results/models/m.nst"], repo)})
    assert stale() == [("summary", ["results/scores/raw.csv"], [])]


def test_pages_that_read_each_other_run_again_after_the_cycle(repo):
    for name in ("a", "b"):
        page(repo, name, "id\nx\n")
    (repo / "results/models").mkdir(parents=True)
    (repo / "results/models/m.nst").write_bytes(b"1")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")
    (repo / "results/models/m.nst").write_bytes(b"2")
    pages = {"a": ("results/a", ["results/models/m.nst", "results/b"], "make a"),
             "b": ("results/b", ["results/a", "results/models/m.nst"], "make b")}
    states = provenance.stale_pages(pages, repo)
    assert all(s.stale for s in states) and len(states) == 2
    first, second = states
    assert first.again_after == [second.page] and second.again_after == []
    assert "(then run this again)" in provenance.render(states)


def test_a_page_without_history_is_unknown_not_stale(tmp_path):
    page(tmp_path, "p", "id\nx\n", {"git_commit": "0" * 40})
    (tmp_path / "results/models").mkdir()
    (tmp_path / "results/models/m.nst").write_bytes(b"1")
    (state,) = provenance.stale_pages({"p": ("results/p", ["results/models/m.nst"], "make p")}, tmp_path)
    assert not state.stale and state.unknown == ["results/models/m.nst"]


def test_runner_records_the_inputs_it_read_and_refuses_undeclared_ones(tmp_path, monkeypatch):
    """A run records its declared inputs' blob ids in run.json; reading a committed file it does not declare is an
    error under NST_STRICT_INPUTS=1 (the tests' setting) and a recorded warning otherwise."""
    from experiments.runner import REGISTRY, Experiment, register, run

    model = "results/models/dumoulin_8styles.nst"

    def run_item(item, cfg, cache):
        import nst

        nst.load(ROOT / model)
        if cfg.get("sneak"):
            (ROOT / "results/fidelity/raw.csv").read_text()
        return {"ok": 1}

    for name, sneak in (("_reads_ok", False), ("_reads_sneaky", True)):
        register(Experiment(name, "test", {"quick": {"sneak": sneak}}, lambda cfg: [{"id": "one"}], run_item,
                            lambda rows, out: [], reads=lambda cfg: [model]))
    try:
        out = run("_reads_ok", "quick", tmp_path / "ok", verbose=False)
        info = json.loads((out / "run.json").read_text())
        assert info["inputs"] == {model: provenance.current_blob(model)}
        assert info["command"] == "python -m experiments run _reads_ok --preset quick --out ok"  # however it ran
        assert "undeclared_inputs" not in info
        monkeypatch.setenv("NST_STRICT_INPUTS", "1")
        with pytest.raises(RuntimeError, match="results/fidelity/raw.csv"):
            run("_reads_sneaky", "quick", tmp_path / "sneaky", verbose=False)
        monkeypatch.setenv("NST_STRICT_INPUTS", "0")
        (tmp_path / "sneaky" / "raw.csv").unlink()
        out = run("_reads_sneaky", "quick", tmp_path / "sneaky", verbose=False)
        assert json.loads((out / "run.json").read_text())["undeclared_inputs"] == ["results/fidelity/raw.csv"]
    finally:
        REGISTRY.pop("_reads_ok", None)
        REGISTRY.pop("_reads_sneaky", None)


def test_every_committed_page_is_up_to_date_with_its_inputs():
    """Issue #13: when a reference model changes, every page made from it runs again.  Each registered experiment's
    committed page, the README figure and the notebooks' record are checked against the inputs they were made from
    (reference models, other pages' rows); `python -m experiments stale` lists what to re-run, in order."""
    import experiments.registered  # noqa: F401 - registers
    from experiments.runner import REGISTRY

    pages = provenance.all_pages({k: v for k, v in REGISTRY.items() if not k.startswith("_")})
    states = provenance.stale_pages(pages)
    assert len(states) >= 20
    stale = {s.page for s in states if s.stale}
    waiting = provenance.pending()
    assert stale <= set(waiting), ("stale pages not listed in " + provenance.PENDING_FILE + ":\n"
                                   + provenance.render(states))
    assert set(waiting) <= stale, f"{provenance.PENDING_FILE} lists pages that are up to date: {set(waiting) - stale}"


def test_experiments_that_name_a_model_or_page_declare_it():
    """Every `results/...` path an experiment module names as a string is among its declared inputs for some preset
    (or is its own folder): a cheap check of `reads` beside the runner's watch, which sees the quick presets only."""
    import re

    import experiments.registered  # noqa: F401 - registers
    from experiments.runner import REGISTRY

    import sys

    modules = [m for k, m in sys.modules.items() if k.startswith("experiments.registered.")]
    for name, exp in REGISTRY.items():
        if name.startswith("_"):
            continue
        (module,) = [m for m in modules if getattr(m, "EXPERIMENT", None) is exp]
        source = Path(module.__file__).read_text()
        named = set(re.findall(r'"(results/[A-Za-z0-9_./]+)"', source))
        declared = {p for cfg in exp.presets.values() for p in exp.reads(cfg)}
        for path in named:
            if path.startswith((f"results/{name}", "results/models/scratch")) or path in ("results/models",):
                continue
            assert any(path == d or path.startswith(d.rstrip("/") + "/") or d.startswith(path.rstrip("/") + "/")
                       for d in declared), (name, path, sorted(declared))


def test_stale_run_reruns_in_order_resumes_after_an_interruption_and_clears_pending(repo, monkeypatch):
    """`python -m experiments stale --run` on a throwaway repository: a new model makes `_src` (reads it) and `_sum`
    (reads `_src`'s rows) stale; the cascade runs `_src` then `_sum` from empty rows, each run.json then records
    the inputs it ran on, and the pending list empties.  Interrupted inside `_sum`, a second call resumes its rows
    (the items done before are not run again) instead of starting over."""
    from experiments import rerun, runner
    from experiments.runner import Experiment

    monkeypatch.setattr(runner, "ROOT", repo)
    (repo / "results/models").mkdir(parents=True)
    model = repo / "results/models/m.nst"
    model.write_bytes(b"model 1")
    calls: list[str] = []
    interrupt = {"at": None}

    def src_item(item, cfg, cache):
        calls.append(f"src/{item['id']}")
        return {"v": len(model.read_bytes()), "model": model.read_bytes().decode()}

    def sum_item(item, cfg, cache):
        if interrupt["at"] == item["id"]:
            interrupt["at"] = None
            raise KeyboardInterrupt
        calls.append(f"sum/{item['id']}")
        return {"rows": (repo / "results/_src/raw.csv").read_text().count("\n")}

    items = lambda cfg: [{"id": f"i{k}"} for k in range(3)]  # noqa: E731
    registry = {
        "_src": Experiment("_src", "t", {"cpu": {}}, items, src_item, lambda rows, out: [],
                           reads=lambda cfg: ["results/models/m.nst"]),
        "_sum": Experiment("_sum", "t", {"cpu": {}}, items, sum_item, lambda rows, out: [],
                           reads=lambda cfg: ["results/_src"]),
    }
    monkeypatch.setattr(runner, "REGISTRY", registry)
    for name in ("_src", "_sum"):
        runner.run(name, "cpu", repo / "results" / name, verbose=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")
    assert rerun.rerun_stale(registry, repo, finish=()) == []

    model.write_bytes(b"model 22")
    (repo / provenance.PENDING_FILE).write_text(json.dumps({"_src": "new model", "_sum": "reads _src"}))
    assert rerun.rerun_stale(registry, repo, dry_run=True, finish=()) == ["_src", "_sum"]
    calls.clear()
    interrupt["at"] = "i1"
    with pytest.raises(KeyboardInterrupt):
        rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None)
    assert calls == ["src/i0", "src/i1", "src/i2", "sum/i0"]
    assert (repo / "results/_sum" / rerun.MARKER).is_file() and not (repo / "results/_src" / rerun.MARKER).exists()
    assert provenance.pending(repo) == {"_sum": "reads _src"}
    (state,) = [s for s in provenance.stale_pages(provenance.all_pages(registry, repo), repo) if s.stale]
    assert state.page == "_sum" and state.interrupted  # its rows are partial, whatever its inputs say
    assert "stopped part way" in provenance.render([state], root=repo)
    rows = (repo / "results/_sum/raw.csv").read_text()
    (repo / "results/_sum/raw.csv").unlink()  # as a re-run that kept no rows and stopped before its first
    rerun.estimate([state], registry, repo)
    assert state.estimate is None and "stopped part way" in provenance.render([state], root=repo)
    (repo / "results/_sum/raw.csv").write_text(rows)
    calls.clear()
    assert rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None) == ["_sum"]
    assert calls == ["sum/i1", "sum/i2"]  # resumed: sum/i0 was kept
    assert not (repo / "results/_sum" / rerun.MARKER).exists() and not (repo / provenance.PENDING_FILE).exists()
    src_rows = runner.read_rows(repo / "results/_src/raw.csv")
    assert {r["model"] for r in src_rows} == {"model 22"} and len(src_rows) == 3
    info = json.loads((repo / "results/_sum/run.json").read_text())
    assert info["inputs"] == {"results/_src/raw.csv": provenance.current_blob("results/_src/raw.csv", repo)}
    assert [s.page for s in provenance.stale_pages(provenance.all_pages(registry, repo), repo) if s.stale] == []


def test_the_notebooks_record_declares_every_page_they_show():
    """Each registered page a notebook shows (`show_result("NAME")` or a `results/NAME` path) is among the inputs of
    the notebooks' record, so a stale page makes the notebooks stale too."""
    import re

    import experiments.registered  # noqa: F401 - registers
    from experiments.runner import REGISTRY

    shown = set()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        text = nb.read_text()
        shown |= set(re.findall(r'show_result\(\\?"([a-z0-9_]+)', text)) | set(re.findall(r"results/([a-z0-9_]+)", text))
    registered = shown & set(REGISTRY)
    assert len(registered) >= 10
    assert registered <= {p.split("/")[1] for p in provenance.SCRIPT_PAGES["notebooks"].reads}


def test_inputs_missing_from_the_checkout_are_unknown_and_a_recorded_run_without_an_input_is_stale(tmp_path):
    """A declared input this checkout lacks (git ignores it, or it is over the file limit) cannot be compared: the
    page is not stale for it.  One that appeared after a run that recorded its inputs without it is a change: that
    run's items that needed it failed."""
    (tmp_path / "results/models").mkdir(parents=True)
    reads = ["results/models/local.nst", "results/models/new.nst"]
    page(tmp_path, "p", "id\nx\n", {"inputs": {"results/models/local.nst": "ab" * 20}})
    (state,) = provenance.stale_pages({"p": ("results/p", reads, "make p")}, tmp_path)
    assert not state.stale and state.unknown == ["results/models/local.nst"]
    (tmp_path / "results/models/new.nst").write_bytes(b"trained since")
    (state,) = provenance.stale_pages({"p": ("results/p", reads, "make p")}, tmp_path)
    assert state.stale and state.changed == ["results/models/new.nst"]


def test_memo_recalls_a_result_only_under_the_same_definition_with_its_files(tmp_path):
    """`experiments.memo`: a stored result comes back for the same definition (tuples and lists alike), not for
    another one, nor once a file the work wrote is gone; its seconds are what a re-run saves."""
    from experiments import memo

    record, written = tmp_path / "h" / "curves.memo.json", tmp_path / "h" / "a.csv"
    definition = {"size": 64, "objective": {"style_layers": ("relu1_2", "relu4_1"), "style_weight": 1e-5}}
    assert memo.recall(record, "a", definition) is None
    memo.remember(record, "a", definition, {"final": 1.5}, seconds=12.0)
    written.parent.mkdir(exist_ok=True)
    written.write_text("x")
    same = {"objective": {"style_weight": 1e-5, "style_layers": ["relu1_2", "relu4_1"]}, "size": 64}
    assert memo.recall(record, "a", same, [written]) == {"final": 1.5}
    assert memo.recall(record, "a", {**same, "size": 96}, [written]) is None
    assert memo.recall(record, "b", same, [written]) is None
    written.unlink()
    assert memo.recall(record, "a", same, [written]) is None
    assert memo.saved_seconds(tmp_path) == {"a": 12.0}
    with pytest.raises(ValueError, match="memo.json"):
        memo.remember(tmp_path / "curves.json", "a", definition, {})


def test_an_item_reads_only_the_rows_it_selects(repo):
    """`provenance.rows_of`: an item that read some of a page's rows is unaffected by the page's other rows
    changing, or by its own rows' run measurements; a model file or a whole page compares as a whole."""
    (repo / "results/p").mkdir(parents=True)
    raw = repo / "results/p/raw.csv"
    raw.write_text("id,method,v,item_seconds\ng1,gatys,1,5\nn1,net,2,5\n")
    (repo / "results/models").mkdir()
    (repo / "results/models/m.nst").write_bytes(b"m1")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "p")
    olds = {"results/p/raw.csv": provenance.current_blob("results/p/raw.csv", repo),
            "results/models/m.nst": provenance.current_blob("results/models/m.nst", repo)}
    gatys, net = provenance.rows_of("results/p", method="gatys"), provenance.rows_of("results/p", method="net")
    assert gatys == "results/p?method=gatys" and provenance.parse_input(gatys) == ("results/p/raw.csv",
                                                                                     {"method": "gatys"})
    assert provenance.parse_input("results/models/m.nst") == ("results/models/m.nst", None)
    raw.write_text("id,method,v,item_seconds\ng1,gatys,1,7\nn1,net,3,5\n")  # the net row changed, Gatys' was timed
    assert not provenance.item_input_changed(gatys, olds, repo)
    assert provenance.item_input_changed(net, olds, repo)
    assert provenance.item_input_changed("results/p", olds, repo)
    assert not provenance.item_input_changed("results/models/m.nst", olds, repo)
    (repo / "results/models/m.nst").write_bytes(b"m2")
    assert provenance.item_input_changed("results/models/m.nst", olds, repo)
    assert provenance.item_input_changed("results/models/m.nst", {}, repo)  # nothing recorded: cannot tell
    assert provenance.item_covers([gatys, "results/models/m.nst"]) == ["results/p", "results/models/m.nst"]


def test_strict_runs_check_each_items_declared_inputs_even_through_the_cache(tmp_path, monkeypatch):
    """Under NST_STRICT_INPUTS=1 an item that reads a model its ``item_reads`` does not declare is an error, even
    where an earlier item has loaded that model into the shared cache (strict runs give each item its own)."""
    from experiments.runner import REGISTRY, Experiment, register, run

    model = "results/models/johnson_great_wave.nst"

    def run_item(item, cfg, cache):
        import nst

        if "model" not in cache:  # loaded once per shared cache
            cache["model"] = nst.load(ROOT / model)
        return {"ok": 1}

    items = lambda cfg: [{"id": "first"}, {"id": "second"}]  # noqa: E731
    for name, second in (("_items_ok", [model]), ("_items_short", [])):
        register(Experiment(name, "test", {"quick": {}}, items, run_item, lambda rows, out: [],
                            reads=lambda cfg: [model],
                            item_reads=lambda item, cfg, second=second: [model] if item["id"] == "first" else second))
    try:
        monkeypatch.setenv("NST_STRICT_INPUTS", "1")
        out = run("_items_ok", "quick", tmp_path / "ok", verbose=False)
        assert "undeclared_item_inputs" not in json.loads((out / "run.json").read_text())
        with pytest.raises(RuntimeError, match=f"item second read {model}"):
            run("_items_short", "quick", tmp_path / "short", verbose=False)
        assert json.loads((tmp_path / "short/run.json").read_text())["undeclared_item_inputs"] == {"second": [model]}
    finally:
        REGISTRY.pop("_items_ok", None)
        REGISTRY.pop("_items_short", None)


def test_stale_run_keeps_the_rows_whose_inputs_did_not_change(repo, monkeypatch):
    """A page that declares ``item_reads`` keeps, on its re-run, the rows of items whose inputs are as they were:
    a new ``b.nst`` re-runs only `_src`'s item that reads it, and only `_sum`'s item that reads that item's rows;
    the estimate says as much before anything runs, and run.json says how many rows the re-run kept."""
    from experiments import rerun, runner
    from experiments.runner import Experiment

    monkeypatch.setattr(runner, "ROOT", repo)
    (repo / "results/models").mkdir(parents=True)
    for name in ("a", "b"):
        (repo / f"results/models/{name}.nst").write_bytes(f"model {name}1".encode())
    calls: list[str] = []

    def src_item(item, cfg, cache):
        calls.append(f"src/{item['id']}")
        uses = item["uses"]
        (cache["out"] / f"{item['id']}.out").write_text("made")  # what other pages would read
        return {"value": (repo / f"results/models/{uses}.nst").read_text() if uses != "none" else "free"}

    def sum_item(item, cfg, cache):
        calls.append(f"sum/{item['id']}")
        rows = runner.read_rows(repo / "results/_src/raw.csv")
        return {"seen": "+".join(str(r["value"]) for r in rows if r["uses"] == item["uses"])}

    src_items = lambda cfg: [{"id": f"{u}{k}", "uses": u} for u in ("a", "b", "none") for k in range(2)]  # noqa
    sum_items = lambda cfg: [{"id": f"s{u}", "uses": u} for u in ("a", "b")]  # noqa: E731
    registry = {
        "_src": Experiment("_src", "t", {"cpu": {}}, src_items, src_item, lambda rows, out: [],
                           reads=lambda cfg: ["results/models/a.nst", "results/models/b.nst"],
                           item_reads=lambda item, cfg: [] if item["uses"] == "none"
                           else [f"results/models/{item['uses']}.nst"],
                           item_outputs=lambda item, cfg, out: [out / f"{item['id']}.out"]),
        "_sum": Experiment("_sum", "t", {"cpu": {}}, sum_items, sum_item, lambda rows, out: [],
                           reads=lambda cfg: ["results/_src"],
                           item_reads=lambda item, cfg: [provenance.rows_of("results/_src", uses=item["uses"])]),
    }
    monkeypatch.setattr(runner, "REGISTRY", registry)
    for name in ("_src", "_sum"):
        runner.run(name, "cpu", repo / "results" / name, verbose=False)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")

    (repo / "results/models/b.nst").write_bytes(b"model b2")
    (repo / "results/_src/none0.out").unlink()  # as a git-ignored fine-tune is missing from a fresh checkout
    states = provenance.stale_pages(provenance.all_pages(registry, repo), repo)
    rerun.estimate(states, registry, repo)
    by_page = {s.page: s for s in states}
    seconds = {n: {r["id"]: float(r["item_seconds"]) for r in runner.read_rows(repo / f"results/{n}/raw.csv")}
               for n in ("_src", "_sum")}
    assert by_page["_src"].estimate == pytest.approx(sum(seconds["_src"][i] for i in ("b0", "b1", "none0")),
                                                     abs=1e-3)
    assert by_page["_sum"].estimate == pytest.approx(seconds["_sum"]["sb"], abs=1e-3)  # it waits for `_src`
    calls.clear()
    assert rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None) == ["_src", "_sum"]
    assert calls == ["src/b0", "src/b1", "src/none0", "sum/sb"]
    assert (repo / "results/_src/none0.out").is_file()
    rows = {r["id"]: r for r in runner.read_rows(repo / "results/_sum/raw.csv")}
    assert rows["sa"]["seen"] == "model a1+model a1" and rows["sb"]["seen"] == "model b2+model b2"
    assert json.loads((repo / "results/_src/run.json").read_text())["rerun"]["kept_rows"] == 3
    assert json.loads((repo / "results/_sum/run.json").read_text())["rerun"]["kept_rows"] == 1
    assert [s.page for s in provenance.stale_pages(provenance.all_pages(registry, repo), repo) if s.stale] == []


def test_every_items_inputs_are_among_its_pages_inputs():
    """Each item's ``item_reads`` (at the configuration of the committed page) names only what the page's
    ``reads`` declares: a model it lists, or rows of a page it lists.  Otherwise its run.json would hold no blob
    to compare with, and a re-run could never keep its row."""
    import experiments.registered  # noqa: F401 - registers
    from experiments.runner import REGISTRY

    checked = 0
    for name, exp in REGISTRY.items():
        if exp.item_reads is None or name.startswith("_") or not (ROOT / "results" / name / "run.json").is_file():
            continue
        info = json.loads((ROOT / "results" / name / "run.json").read_text())
        cfg = exp.presets[info["preset"]]
        files = set(provenance.input_files(exp.reads(cfg), ROOT))
        for item in exp.items(cfg):
            for entry in exp.item_reads(item, cfg):
                assert provenance.parse_input(entry)[0] in files, (name, item["id"], entry)
        checked += 1
    assert checked >= 5


def test_stale_run_through_a_cycle_runs_each_page_after_what_it_reads(repo, monkeypatch):
    """The real pages hold a cycle (`quality_vs_time` reads `train_border`'s fine-tunes, which read `lr_decay`,
    which reads `quality_vs_time`): after a new model the cascade runs q, l, t, then q again, and stops with
    nothing stale, although every run re-times its rows.  (It used to run q twice in a row, then give up.)"""
    from experiments import rerun, runner
    from experiments.runner import Experiment

    monkeypatch.setattr(runner, "ROOT", repo)
    (repo / "results/models").mkdir(parents=True)
    model = repo / "results/models/m.nst"
    model.write_bytes(b"m1")

    def values(source: str) -> str:
        rows = runner.read_rows(repo / f"results/{source}/raw.csv")
        return "+".join(str(r["seen"]) for r in rows) or "none"

    def reader(name: str, sources: list[str], uses: list[str]):
        def item(it, cfg, cache):  # q reads t but its value is the model's alone, as a curve's does not
            for s in sources:    # depend on the fine-tunes read off it
                if s != "m" and (repo / f"results/{s}/raw.csv").is_file():
                    (repo / f"results/{s}/raw.csv").read_text()
            return {"seen": "/".join(model.read_text() if s == "m" else values(s) for s in uses)}
        return Experiment(name, "t", {"cpu": {}}, lambda cfg: [{"id": "x"}], item, lambda rows, out: [],
                          reads=lambda cfg: ["results/models/m.nst" if s == "m" else f"results/{s}" for s in sources])

    registry = {"q": reader("q", ["m", "t"], ["m"]), "l": reader("l", ["q"], ["q"]),
                "t": reader("t", ["l", "q"], ["l", "q"])}
    monkeypatch.setattr(runner, "REGISTRY", registry)
    for name in ("q", "l", "t"):
        runner.run(name, "cpu", repo / "results" / name, verbose=False)
    rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None)  # q read t before t existed
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pages")
    assert rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None) == []
    model.write_bytes(b"m2")
    assert rerun.rerun_stale(registry, repo, finish=(), log=lambda m: None) == ["q", "l", "t", "q"]
    assert [s.page for s in provenance.stale_pages(provenance.all_pages(registry, repo), repo) if s.stale] == []
    assert runner.read_rows(repo / "results/t/raw.csv")[0]["seen"] == "m2/m2"
    # the rows each run read are in git's store although no commit holds them: later comparisons can read them
    for name in ("q", "l", "t"):
        for file, blob in json.loads((repo / f"results/{name}/run.json").read_text())["inputs"].items():
            assert file.endswith(".nst") or provenance.blob_bytes(blob, repo) is not None, (name, file)
