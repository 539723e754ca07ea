"""Run the stale pages again, in order: ``python -m experiments stale --run``.

After a reference model changes, every page made from it runs again, each after the pages it reads
(`experiments.provenance`).  The cascade takes hours of CPU, more than one session, so it resumes:
run the command again and it picks up where it stopped.  Each registered page starts from the committed
rows whose items' inputs did not change (`kept_rows`: pages that declare ``item_reads``; the others
from an empty ``raw.csv``, their committed rows staying in git) and leaves a ``rerun.json`` marker with
the inputs it started on until it finishes; a page found with its marker and the same inputs resumes from its rows
instead.  After each page the stale list is worked out again, so a page whose rows changed makes the
pages that read it stale in turn, and pages that read each other run a second time.  A page made by a
script (`provenance.SCRIPT_PAGES`) runs its command, and its ``run.json`` then gets the inputs it ran on.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from experiments import provenance, runner

MARKER = provenance.RERUN_MARKER
MAX_RUNS_PER_PAGE = 2  # once, and once more after a page it reads in a cycle
# reads only pages, and keeps no run.json: regenerated once the cascade has run
FINISH = ("python -m experiments.scripts.headline",)


def _this_python(command: str) -> str:
    """A script page's shell command with this interpreter for ``python`` (the checkout's environment)."""
    return " ".join(shlex.quote(sys.executable) if word == "python" else word for word in command.split(" "))


def _start_page(folder: Path, reads: list[str], root: Path, kept: Callable[[], list[str]] | None = None) -> bool:
    """Empty the page's rows unless an interrupted re-run on the same inputs left them; True where it resumes.
    ``kept`` (pages that declare ``item_reads``) gives the ids of the rows to keep: items whose inputs did not
    change (`kept_rows`)."""
    marker = folder / MARKER
    inputs = provenance.input_blobs(reads, root)
    if marker.is_file() and json.loads(marker.read_text()).get("inputs") == inputs:
        return True
    keep = set(kept()) if kept is not None else set()
    (folder / "failures.csv").unlink(missing_ok=True)
    _keep_rows(folder / "raw.csv", keep)
    marker.write_text(json.dumps({"started": time.strftime("%Y-%m-%d %H:%M:%S"), "inputs": inputs,
                                  "kept_rows": len(keep)}, indent=2))
    return False


def _keep_rows(raw: Path, keep: set[str]) -> None:
    """Rewrite ``raw`` with only the rows whose id is in ``keep``, byte for byte as they were (gone if none)."""
    if not raw.is_file():
        return
    with open(raw, newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames or [], [r for r in reader if r.get("id") in keep]
    if not rows:
        raw.unlink()
        return
    tmp = raw.with_name(raw.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, raw)


def kept_rows(exp: runner.Experiment, cfg: dict, folder: Path, root: Path = provenance.ROOT,
              assume_changed: Callable[[str], bool] | None = None) -> list[str]:
    """The ids of the committed rows a re-run of ``exp`` can keep: items whose `item_reads` inputs are what
    its last run read (`provenance.item_input_changed`) and whose outputs other items read are still there
    (``item_outputs``).  Every row where the page declares no ``item_reads`` goes.  Inputs for which
    ``assume_changed`` is true count as changed (an estimate made before the stale pages they come from have
    run again)."""
    if exp.item_reads is None:
        return []
    info = json.loads((folder / "run.json").read_text())
    where = folder.resolve().relative_to(root.resolve()).as_posix()
    olds, _ = provenance.recorded_inputs(info, f"{where}/run.json", list(exp.reads(cfg)), root)
    items = {str(i["id"]): i for i in exp.items(cfg)}
    changed: dict[str, bool] = {}

    def unchanged(entry: str) -> bool:
        if entry not in changed:
            changed[entry] = ((assume_changed is not None and assume_changed(entry))
                              or provenance.item_input_changed(entry, olds, root))
        return not changed[entry]

    raw = folder / "raw.csv"
    if not raw.is_file():
        return []
    with open(raw, newline="") as f:
        ids = [r.get("id") or "" for r in csv.DictReader(f)]  # as written: read_rows would turn "3" into 3.0

    def outputs_there(item: dict) -> bool:
        return exp.item_outputs is None or all(Path(p).is_file() for p in exp.item_outputs(item, cfg, folder))

    return [i for i in ids if i in items and all(unchanged(e) for e in exp.item_reads(items[i], cfg))
            and outputs_there(items[i])]


def estimate(states: list[provenance.PageState], registry: dict, root: Path = provenance.ROOT) -> None:
    """Set each stale page's ``estimate``: the seconds its re-run is expected to take, from its committed rows'
    ``item_seconds``, less the rows it keeps (`kept_rows`) and the work its memo records let it reuse
    (`experiments.memo`); a script page's last run.  The states come in re-run order, so a page that reads a
    stale page counts as changed the rows that page's own re-run drops (one run per page: a page that runs a
    second time after a cycle is counted once)."""
    from experiments import memo

    dropped: dict[str, list[dict] | None] = {}  # a stale page's rows file -> rows its re-run drops (None: all)

    def assume(entry: str) -> bool:
        file, match = provenance.parse_input(entry)
        if file not in dropped:
            return False
        rows = dropped[file]
        return rows is None or any(all((r.get(k) or "") == v for k, v in (match or {}).items()) for r in rows)

    for s in states:
        if not s.stale:
            continue
        if s.page not in registry:
            s.estimate = s.seconds
            dropped[provenance.page_rows(provenance.SCRIPT_PAGES[s.page].folder)] = None
            continue
        folder = root / "results" / s.page
        if not (folder / "raw.csv").is_file():  # a re-run stopped before its first row: no rows to go by
            s.estimate = None
            continue
        exp = registry[s.page]
        cfg = exp.presets[json.loads((folder / "run.json").read_text()).get("preset", "cpu")]
        try:
            keep = set(kept_rows(exp, cfg, folder, root, assume))
        except Exception:  # noqa: BLE001 - an input that cannot be read (a broken model) must not hide the list
            keep = set()
        reused = memo.saved_seconds(folder)
        total, gone = 0.0, []
        with open(folder / "raw.csv", newline="") as f:
            for r in csv.DictReader(f):
                if r.get("id") in keep:
                    continue
                gone.append(r)
                try:
                    total += max(0.0, float(r.get("item_seconds") or 0) - reused.get(r.get("id"), 0.0))
                except ValueError:
                    pass
        dropped[provenance.page_rows(f"results/{s.page}")] = gone
        s.estimate = total


def rerun_page(page: str, registry: dict, root: Path = provenance.ROOT, log: Callable[[str], None] = print) -> float:
    """Run one stale page again (resuming an interrupted re-run of it); returns the seconds it took."""
    t0 = time.perf_counter()
    if page in registry:
        folder = root / "results" / page
        info = json.loads((folder / "run.json").read_text())
        preset = info.get("preset", "cpu")
        exp = registry[page]
        cfg = exp.presets[preset]
        reads = list(exp.reads(cfg))
        resumed = _start_page(folder, reads, root, lambda: kept_rows(exp, cfg, folder, root))
        log(f"{page}: {'resuming' if resumed else 'running'} `python -m experiments run {page} --preset {preset}`")
        runner.run(page, preset, folder)
        marker = json.loads((folder / MARKER).read_text())
        run_json = folder / "run.json"  # say which rows the re-run kept from the run before it
        info = json.loads(run_json.read_text())
        info["rerun"] = {"started": marker.get("started"), "kept_rows": marker.get("kept_rows", 0)}
        run_json.write_text(json.dumps(info, indent=2, default=str))
        (folder / MARKER).unlink(missing_ok=True)
    else:
        sp = provenance.SCRIPT_PAGES[page]
        log(f"{page}: running `{sp.command}`")
        subprocess.run(_this_python(sp.command), shell=True, cwd=root, check=True)
        run_json = root / sp.folder / "run.json"
        info = json.loads(run_json.read_text())
        info["inputs"] = provenance.input_blobs(sp.reads, root)
        run_json.write_text(json.dumps(info, indent=2) + "\n")
    _drop_pending(page, root)
    seconds = time.perf_counter() - t0
    log(f"{page}: done in {seconds / 60:.1f} min")
    return seconds


def _drop_pending(page: str, root: Path) -> None:
    """A page that has run again no longer waits: take it off `provenance.PENDING_FILE` (gone once empty)."""
    waiting = provenance.pending(root)
    if page not in waiting:
        return
    del waiting[page]
    provenance.save_pending(waiting, root)


def next_page(states: list[provenance.PageState], ran: list[str]) -> str | None:
    """The first stale page, in re-run order, that is not waiting for its turn to run again.  A page that has run
    in this cascade is stale only because pages it reads are still to run: those later in a cycle (pages that
    read each other), or pages themselves waiting so.  It runs again once one of them has changed its rows
    (then its own inputs differ), and meanwhile must neither run again nor hold up the pages after it."""
    by_page = {s.page: s for s in states}
    waiting: set[str] = set()
    grew = True
    while grew:  # settle: waiting on pages that wait counts as waiting
        grew = False
        for s in states:
            if (s.page not in waiting and s.stale and s.page in ran and not s.changed and not s.interrupted
                    and all(d in s.again_after or d in waiting or not by_page[d].stale for d in s.waits_for)):
                waiting.add(s.page)
                grew = True
    return next((s.page for s in states if s.stale and s.page not in waiting), None)


def rerun_stale(registry: dict, root: Path = provenance.ROOT, dry_run: bool = False,
                log: Callable[[str], None] = print, finish: tuple[str, ...] = FINISH) -> list[str]:
    """Run every stale page again, in order, until none is stale (or, with ``dry_run``, list the first round),
    then the ``finish`` commands if any page ran.  Pinned pages are left alone.  Returns the pages run, in order."""
    ran: list[str] = []
    while True:
        states = provenance.stale_pages(provenance.all_pages(registry, root), root)
        todo = [s.page for s in states if s.stale]
        if dry_run:
            for page in todo:
                log(f"would run {page}")
            return todo
        if not todo:
            for command in finish if ran else ():
                log(f"running `{command}`")
                subprocess.run(_this_python(command), shell=True, cwd=root, check=True)
            log(f"no page is stale ({len(ran)} run)")
            return ran
        page = next_page(states, ran) or todo[0]
        if ran.count(page) >= MAX_RUNS_PER_PAGE:
            raise RuntimeError(f"{page} is still stale after {MAX_RUNS_PER_PAGE} runs: it reads a file it changes "
                               "itself, or its declared inputs are wrong (`python -m experiments stale`)")
        rerun_page(page, registry, root, log)
        ran.append(page)
