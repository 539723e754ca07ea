"""Which committed results were made from which committed inputs, and which are stale now.

A results page (``results/NAME/``) is made by code from data and from *committed inputs*: the reference
models in ``results/models/`` and other pages' files (``results/fidelity/raw.csv`` and the like).  When an
input changes (a GPU run replaces a reference model), every page made from the old one is stale until it
runs again, and so is every page made from a stale page.  Issue #13 asks for exactly that re-run ("re-run
every experiment and notebook that reads the models"); ``python -m experiments stale`` lists it, in the
order it must run.

Every registered `experiments.runner.Experiment` declares its inputs (``reads(config)``, repository paths),
and the runner records each input's git blob id in ``run.json`` (``inputs``) when a run starts.  It also
watches what the run actually opens under ``results/`` (Python's audit hooks: ``open``, and
``nst.io.modelfile.load_tensors``'s ``nst.read_model`` event, since safetensors opens files outside Python),
and lists any input it was not told of as ``undeclared_inputs``; the tests make that an error.  Pages run
before this record existed are compared with their inputs as the commit that committed the page held them.
Another page's ``raw.csv`` that only gained rows since (items added to its preset) or whose rows differ only
in their timings, or a model file saved again with the same tensors and metadata, is not a change.  A few pages are made by scripts, not the runner
(`SCRIPT_PAGES`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_MODELS = ("johnson_starry_night", "johnson_great_wave", "dumoulin_8styles")


def reference_model(name: str) -> str:
    """The repository path of the committed reference model NAME (``results/models/NAME.nst``)."""
    return f"results/models/{name}.nst"


def page_rows(page: str) -> str:
    """The file another page's results are read from: its ``raw.csv``."""
    return f"{page.rstrip('/')}/raw.csv"


def git_blob_id(data: bytes) -> str:
    """Git's id of a file with these bytes: SHA-1 of ``b"blob <size>\\0" + data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def current_blob(path: str, root: Path = ROOT) -> str | None:
    """The blob id of the working file ``root/path`` (None where there is no such file)."""
    p = root / path
    return git_blob_id(p.read_bytes()) if p.is_file() else None


def blob_at(commit: str, path: str, root: Path = ROOT) -> str | None:
    """The blob id of ``path`` at ``commit`` (None where the commit is unknown or did not hold the file)."""
    if not commit:
        return None
    try:
        r = subprocess.run(["git", "rev-parse", "--verify", "-q", f"{commit}:{path}"], cwd=root,
                           capture_output=True, text=True)
    except OSError:
        return None
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def commit_of(path: str, root: Path = ROOT) -> str | None:
    """The last commit that changed ``path`` (None where git has no history of it)."""
    if not path:
        return None
    try:
        r = subprocess.run(["git", "log", "-1", "--format=%H", "--", path], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    return r.stdout.strip() or None


def blob_bytes(blob: str, root: Path = ROOT) -> bytes | None:
    """The bytes of a blob git holds (None where it holds no such object)."""
    try:
        r = subprocess.run(["git", "cat-file", "blob", blob], cwd=root, capture_output=True)
    except OSError:
        return None
    return r.stdout if r.returncode == 0 else None


def same_model(old: bytes, new: bytes) -> bool:
    """Whether two model files hold the same tensors and metadata, apart from the integrity digest
    (``tensor_sha256``) that files written before it existed lack: the reference models were saved again
    only to add it, and pages made before that read the same model."""
    import struct

    def split(data: bytes) -> tuple[dict, dict, bytes] | None:
        try:
            n = struct.unpack("<Q", data[:8])[0]
            header = json.loads(data[8:8 + n])
            meta = json.loads(header.pop("__metadata__", {}).get("nst", "{}"))
        except (struct.error, ValueError, AttributeError):
            return None
        meta.pop("tensor_sha256", None)
        return meta, header, data[8 + n:]

    a, b = split(old), split(new)
    return a is not None and a == b


#: columns a run measures about itself, not results: rows that differ only in them read the same
RUN_COLUMNS = ("item_seconds", "peak_rss_mb")


def rows_kept(old_text: str, new_text: str) -> bool:
    """Whether every row of an old ``raw.csv`` is still in the new one, with the same value in every old column
    but the run's measurements of itself (`RUN_COLUMNS`): the page only gained rows (items added to its preset),
    or ran again to the same results, so a page that read the old rows read what is there."""
    import csv
    import io

    old_rows = list(csv.DictReader(io.StringIO(old_text)))
    new_rows = list(csv.DictReader(io.StringIO(new_text)))
    if not old_rows:
        return True
    columns = [c for c in old_rows[0] if c not in RUN_COLUMNS]
    present = {tuple(r.get(c) or "" for c in columns) for r in new_rows}
    return all(tuple(r.get(c) or "" for c in columns) in present for r in old_rows)


def rows_of(page: str, **match: str) -> str:
    """An item input that is only some of another page's rows: those whose columns equal ``match``
    (``rows_of("results/fidelity", method="gatys", style=s)`` is written ``results/fidelity?method=gatys&style=s``).
    Such an item is unaffected by the page's other rows changing."""
    return page.rstrip("/") + ("?" + "&".join(f"{k}={match[k]}" for k in sorted(match)) if match else "")


def parse_input(entry: str) -> tuple[str, dict[str, str] | None]:
    """``(file, match)`` of an item input: a model file and ``None``, or a page's ``raw.csv`` and the columns its
    rows must match (``{}``: every row)."""
    path, _, query = entry.partition("?")
    if not query and (path.endswith((".nst", ".csv", ".json", ".safetensors")) or "/models/" in path):
        return path, None
    return page_rows(path), dict(q.split("=", 1) for q in query.split("&")) if query else {}


def selected_rows(text: str, match: dict[str, str]) -> list[tuple]:
    """The rows of a ``raw.csv`` text whose columns equal ``match``, each as its sorted non-empty (column, value)
    pairs without `RUN_COLUMNS`, in a canonical order: what an item that reads those rows read."""
    import csv
    import io

    rows = [r for r in csv.DictReader(io.StringIO(text)) if all((r.get(k) or "") == v for k, v in match.items())]
    return sorted(tuple(sorted((k, v) for k, v in r.items() if v and k not in RUN_COLUMNS)) for r in rows)


def item_input_changed(entry: str, olds: dict[str, str | None], root: Path = ROOT) -> bool:
    """Whether what an item read through ``entry`` (a model file, or some of a page's rows: `rows_of`) differs
    between the blobs a page's run read (``olds``, `recorded_inputs`) and the checkout.  An input with no recorded
    blob counts as changed; one the checkout lacks (a git-ignored file) as unchanged, since nothing could run it."""
    file, match = parse_input(entry)
    now, old = current_blob(file, root), olds.get(file)
    if now is None:
        return False
    if old is None:
        return True
    if old == now:
        return False
    if match is None or not match:
        return not _same_content(file, old, root)
    old_bytes = blob_bytes(old, root)
    if old_bytes is None:
        return True
    return selected_rows(old_bytes.decode("utf-8", "replace"), match) != selected_rows((root / file).read_text(),
                                                                                        match)


def item_covers(entries: Iterable[str]) -> list[str]:
    """The repository paths an item with these inputs may open: a model (with the files training writes beside
    it), a page's folder for some of its rows (its images and curves are what those rows describe)."""
    out = []
    for e in entries:
        file, match = parse_input(e)
        out.append(file if match is None else e.partition("?")[0].rstrip("/"))
    return out


def input_files(reads: Iterable[str], root: Path = ROOT) -> list[str]:
    """The files that stand for declared inputs: a file itself, a page's folder by its ``raw.csv``."""
    return list(dict.fromkeys(page_rows(p) if (root / p).is_dir() else p for p in reads))


def input_blobs(reads: Iterable[str], root: Path = ROOT) -> dict[str, str]:
    """``{file: blob id}`` of the declared inputs that exist now (one a config names but the checkout lacks is
    left out)."""
    return {p: b for p in input_files(reads, root) if (b := current_blob(p, root)) is not None}


def keep_blobs(files: Iterable[str], root: Path = ROOT) -> None:
    """Write the pages' rows among ``files`` into git's object store (``git hash-object -w``), uncommitted: a run
    in a re-run cascade reads rows that no commit holds yet, and `rows_kept` needs them to tell later whether
    they changed.  Nothing happens outside a git checkout."""
    rows = [p for p in files if p.endswith("raw.csv") and (root / p).is_file()]
    if not rows:
        return
    try:
        subprocess.run(["git", "hash-object", "-w", "--", *rows], cwd=root, capture_output=True)
    except OSError:
        pass


class InputWatch:
    """The repository files under ``results/`` a run opens, outside its own output folder.

    Python's audit hooks cannot be removed, so one hook is installed per process and a watch only switches
    recording on and off.
    """

    _active: "InputWatch | None" = None
    _installed = False

    def __init__(self, out: Path, root: Path = ROOT) -> None:
        self.results = (root / "results").resolve()
        self.root = root.resolve()
        self.out = Path(out).resolve()
        self.opened: set[str] = set()
        self.item: str | None = None  # the item running now (set by the runner)
        self.by_item: dict[str, set[str]] = {}  # what each item opened

    @classmethod
    def _hook(cls, event: str, args: tuple) -> None:
        watch = cls._active
        if watch is None or event not in ("open", "nst.read_model") or not args:
            return
        if event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
            return  # written, not read
        try:
            p = Path(args[0]).resolve() if isinstance(args[0], (str, Path)) else None
        except (OSError, ValueError, TypeError):
            return
        if p is None or not p.is_relative_to(watch.results) or p.is_relative_to(watch.out) or not p.is_file():
            return
        path = p.relative_to(watch.root).as_posix()
        watch.opened.add(path)
        if watch.item is not None:
            watch.by_item.setdefault(watch.item, set()).add(path)

    def __enter__(self) -> "InputWatch":
        if not InputWatch._installed:
            sys.addaudithook(InputWatch._hook)
            InputWatch._installed = True
        InputWatch._active = self
        return self

    def __exit__(self, *exc: object) -> None:
        InputWatch._active = None


def undeclared(opened: Iterable[str], declared: Iterable[str]) -> list[str]:
    """The opened files that are neither a declared input, nor inside a declared folder, nor written by training
    beside a declared model (``M.loss.csv`` beside ``M.nst``), nor a page's own labels (``run.json``: a page's
    configuration, read to name what a figure shows)."""
    declared = list(declared)
    covers = [d.rstrip("/") + "/" for d in declared] + [d[:-len(".nst")] + "." for d in declared if d.endswith(".nst")]
    return [p for p in sorted(opened) if not (p.endswith("/run.json") or p in declared or p.startswith(tuple(covers)))]


@dataclass(frozen=True)
class ScriptPage:
    """A committed page that a script makes, not the runner: its folder, its inputs and its command."""
    folder: str
    reads: tuple[str, ...]
    command: str


def _notebook_reads() -> tuple[str, ...]:
    pages = ("speed", "fidelity", "fidelity_layers", "add_style", "grid_ablation", "quality_vs_time", "fig5_ratio",
             "export", "border", "interpolation", "many_styles", "one_photo", "output_levers", "scratch_capacity",
             "scratch_relu4_1", "style_balance", "style_length", "style_scales", "train_border", "gatys_ablations", "fine_tune")
    return (*(reference_model(m) for m in REFERENCE_MODELS), *(f"results/{p}" for p in pages))


SCRIPT_PAGES: dict[str, ScriptPage] = {
    "readme_figure": ScriptPage("results/readme_figure",
                                (reference_model("johnson_starry_night"), reference_model("dumoulin_8styles")),
                                "python -m experiments.scripts.readme_figure"),
    "notebooks": ScriptPage("results/notebooks", _notebook_reads(),
                            "python notebooks/execute.py && NST_QUICK=1 python notebooks/execute.py --check --record"),
}


#: pages made from inputs other than today's on purpose, and why: listed, never counted as stale
PINNED = {
    "recipe_study": "the study that picked the recipe the reference models were then trained with: it fine-tunes the "
                    "models before them, as its page says",
}


#: left in a page's folder by a re-run (`experiments.rerun`) until it finishes: the inputs its rows were made on
RERUN_MARKER = "rerun.json"

#: pages known to be stale and waiting for their re-run, with why (a new model lands before the CPU has re-run
#: every page made from the old one); the tests require it to list exactly the stale pages
PENDING_FILE = "results/pending_reruns.json"


def pending(root: Path = ROOT) -> dict[str, str]:
    """``{page: why}`` of `PENDING_FILE` (empty where there is none)."""
    path = root / PENDING_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def write_pending(states: list["PageState"], why: str, root: Path = ROOT) -> list[str]:
    """List every stale page in `PENDING_FILE` with ``why`` (pages listed before keep their reason; pages no longer
    stale are dropped; no file when none is stale).  Returns the pages listed."""
    before = pending(root)
    waiting = {s.page: before.get(s.page, why) for s in states if s.stale}
    save_pending(waiting, root)
    return list(waiting)


def save_pending(waiting: dict[str, str], root: Path = ROOT) -> None:
    """Write `PENDING_FILE` (removed when nothing waits)."""
    path = root / PENDING_FILE
    if waiting:
        path.write_text(json.dumps(waiting, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)


@dataclass
class PageState:
    """One page's provenance: its inputs as recorded (or as its commit held them) against the checkout's."""
    page: str
    command: str
    seconds: float | None  # the last run's wall time, start to end, where run.json has both
    recorded_from: str  # "run.json" (recorded inputs), "commit" (as the commit that committed the page held them)
    # or "nothing"
    changed: list[str] = field(default_factory=list)  # inputs whose blob differs from the recorded one
    unknown: list[str] = field(default_factory=list)  # inputs with no recorded blob to compare
    waits_for: list[str] = field(default_factory=list)  # stale pages this one reads
    pinned: str = ""  # why the page keeps the inputs it was made from (`PINNED`)
    again_after: list[str] = field(default_factory=list)  # stale pages it reads that come later (a cycle of reads)
    interrupted: bool = False  # a re-run started and has not finished: the rows are partial
    estimate: float | None = None  # seconds its re-run is expected to take (`experiments.rerun.estimate`)

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.waits_for or self.interrupted) and not self.pinned


def _seconds(info: dict) -> float | None:
    import datetime as dt

    try:
        start, end = (dt.datetime.fromisoformat(str(info[k])[:19].replace("T", " ")) for k in ("start", "end"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def _page_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "results" and parts[1] != "models" else None


def recorded_inputs(info: dict, run_json: str, reads: list[str], root: Path = ROOT) -> tuple[dict[str, str | None], str]:
    """The blob id of each input a page's run read, from its run.json ``info`` (``run_json`` its path under
    ``root``), and where they come from: ``"run.json"`` (recorded), ``"commit"`` (a page from before that record:
    its inputs as the commit that committed the page held them) or ``"nothing"``.  A resumed run whose earlier
    items read other inputs (``earlier_inputs``) gives those: its rows mix both."""
    recorded = info.get("inputs")
    if recorded is not None:
        olds: dict[str, str | None] = {p: recorded.get(p) for p in input_files(reads, root)}
        source = "run.json"
    else:
        # `git_commit` is HEAD when the run ended, and a page is often run on inputs not yet committed (new models
        # and the pages made from them land in one commit): the commit that committed run.json is the better guess
        commit = commit_of(run_json, root) or info.get("git_commit")
        olds = {p: blob_at(commit or "", p, root) for p in input_files(reads, root)}
        source = "commit" if commit else "nothing"
    olds.update(info.get("earlier_inputs") or {})
    return olds, source


def page_state(page: str, folder: str, reads: list[str], command: str, root: Path = ROOT) -> PageState | None:
    """The provenance of the committed page in ``root/folder`` (None where it has no ``run.json``)."""
    path = root / folder / "run.json"
    if not path.is_file():
        return None
    info = json.loads(path.read_text())
    olds, source = recorded_inputs(info, f"{folder}/run.json", reads, root)
    state = PageState(page, info.get("command") or command, _seconds(info), source, pinned=PINNED.get(page, ""))
    state.interrupted = (root / folder / RERUN_MARKER).is_file()
    for p, old in olds.items():
        now = current_blob(p, root)
        if now is None:
            # not in this checkout (a git-ignored fine-tune, a model over the file limit): nothing to compare with
            if old is not None:
                state.unknown.append(p)
        elif old is None:
            # a recorded run ran without it (its items failed for want of it); an older page's commit may simply
            # not have held a file git ignores
            (state.changed if source == "run.json" else state.unknown).append(p)
        elif old != now and not _same_content(p, old, root):
            state.changed.append(p)
    return state


def _same_content(path: str, old_blob: str, root: Path) -> bool:
    """An input whose file changed while what a page read from it did not: a ``raw.csv`` that only gained rows
    (`rows_kept`), a model file saved again with its digest (`same_model`)."""
    if not (path.endswith(("raw.csv", ".nst")) and (root / path).is_file()):
        return False
    old = blob_bytes(old_blob, root)
    if old is None:
        return False
    if path.endswith(".nst"):
        return same_model(old, (root / path).read_bytes())
    return rows_kept(old.decode("utf-8", "replace"), (root / path).read_text())


def all_pages(registry: dict, root: Path = ROOT) -> dict[str, tuple[str, list[str], str]]:
    """``{page: (folder, inputs, command)}`` for every registered experiment and `SCRIPT_PAGES`, inputs read
    from the configuration each committed page ran with (its ``run.json``)."""
    out: dict[str, tuple[str, list[str], str]] = {}
    for name, exp in registry.items():
        folder = f"results/{name}"
        info_path = root / folder / "run.json"
        if not info_path.is_file():
            continue  # never run: no page to check
        cfg = json.loads(info_path.read_text()).get("config", {})
        out[name] = (folder, list(exp.reads(cfg)), f"python -m experiments run {name}")
    for name, sp in SCRIPT_PAGES.items():
        out[name] = (sp.folder, list(sp.reads), sp.command)
    return out


def stale_pages(pages: dict[str, tuple[str, list[str], str]], root: Path = ROOT) -> list[PageState]:
    """Every committed page's state, in an order in which the stale ones can be run again: a page comes
    after the pages it reads.  A page that reads a stale page is stale too (``waits_for``)."""
    states = {name: s for name, (folder, reads, cmd) in pages.items()
              if (s := page_state(name, folder, reads, cmd, root)) is not None}
    deps = {name: sorted({q for p in pages[name][1] if (q := _page_of(p)) in states and q != name})
            for name in states}
    order: list[str] = []
    seen: set[str] = set()

    # Depth first, each page after what it reads.  Where pages read each other, the walk enters the cycle at the
    # page that reads the most pages, so that one runs last and the page it cut the cycle at runs again after it.
    most_reads_first = lambda names: sorted(names, key=lambda n: (-len(deps[n]), n))  # noqa: E731

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in seen or name in trail:
            return
        for d in most_reads_first(deps[name]):
            visit(d, (*trail, name))
        seen.add(name)
        order.append(name)

    for name in most_reads_first(states):
        visit(name)
    for _ in order:  # a page reading a stale page is stale: settle it along cycles too
        for name in order:
            states[name].waits_for = [d for d in deps[name] if states[d].stale]
    position = {name: k for k, name in enumerate(order)}
    for name in order:  # pages that read each other (a cycle): the earlier runs again once the later one has run
        states[name].again_after = [d for d in states[name].waits_for if position[d] > position[name]]
    return [states[n] for n in order]


def render(states: list[PageState], show_all: bool = False, root: Path = ROOT) -> str:
    """A table of the stale pages (every page with ``show_all``), in the order to run them again."""
    waiting = pending(root)
    rows = [s for s in states if show_all or s.stale or (s.pinned and s.changed)]
    if not any(s.stale for s in rows) and not show_all:
        pinned = "".join(f"\n- {s.page} is pinned to older inputs ({', '.join(s.changed)}): {s.pinned}" for s in rows)
        return f"none of the {len(states)} committed pages is stale{':' if pinned else ''}{pinned}\n"
    fmt_s = lambda s: "" if s is None else f"{s / 60:.0f} min"  # noqa: E731
    lines = ["| page | state | inputs changed | waits for | re-run, about | command |", "|---|---|---|---|---|---|"]
    for s in rows:
        state = "stale" if s.stale else f"pinned: {s.pinned}" if s.pinned and s.changed else "up to date"
        if s.interrupted:
            state += " (its re-run stopped part way: `python -m experiments stale --run` resumes it)"
        if s.stale and s.page in waiting:
            state += f" (pending: {waiting[s.page]})"
        if s.unknown:
            state += f" ({len(s.unknown)} input(s) unrecorded)"
        waits = ", ".join(f"{d} (then run this again)" if d in s.again_after else d for d in s.waits_for)
        lines.append(f"| {s.page} | {state} | {', '.join(s.changed)} | {waits} | "
                     f"{fmt_s(s.estimate) if s.stale else ''} | `{s.command}` |")
    total = sum(s.estimate or 0 for s in rows if s.stale)
    lines.append(f"\n{sum(s.stale for s in states)} of {len(states)} pages stale; re-running them takes about "
                 f"{total / 3600:.1f} h: the time their committed rows took, less the rows a re-run keeps (items "
                 "whose inputs did not change) and the curves it reuses (`python -m experiments stale --run` runs "
                 "them)")
    return "\n".join(lines) + "\n"


Reads = Callable[[dict], list[str]]
