"""Run the stale pages again, in order: ``python -m experiments stale --run``.

After a reference model changes, every page made from it runs again, each after the pages it reads
(`experiments.provenance`).  The whole cascade takes hours of CPU, more than one session, so it resumes:
run the command again and it picks up where it stopped.  Each registered page starts from an empty
``raw.csv`` (its committed rows stay in git) and leaves a ``rerun.json`` marker with the inputs it
started on until it finishes; a page found with its marker and the same inputs resumes from its rows
instead.  After each page the stale list is worked out again, so a page whose rows changed makes the
pages that read it stale in turn, and pages that read each other run a second time.  A page made by a
script (`provenance.SCRIPT_PAGES`) runs its command, and its ``run.json`` then gets the inputs it ran on.
"""

from __future__ import annotations

import json
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


def _start_page(folder: Path, reads: list[str], root: Path) -> bool:
    """Empty the page's rows unless an interrupted re-run on the same inputs left them; True where it resumes."""
    marker = folder / MARKER
    inputs = provenance.input_blobs(reads, root)
    if marker.is_file() and json.loads(marker.read_text()).get("inputs") == inputs:
        return True
    for name in ("raw.csv", "failures.csv"):
        (folder / name).unlink(missing_ok=True)
    marker.write_text(json.dumps({"started": time.strftime("%Y-%m-%d %H:%M:%S"), "inputs": inputs}, indent=2))
    return False


def rerun_page(page: str, registry: dict, root: Path = provenance.ROOT, log: Callable[[str], None] = print) -> float:
    """Run one stale page again (resuming an interrupted re-run of it); returns the seconds it took."""
    t0 = time.perf_counter()
    if page in registry:
        folder = root / "results" / page
        info = json.loads((folder / "run.json").read_text())
        preset = info.get("preset", "cpu")
        reads = list(registry[page].reads(registry[page].presets[preset]))
        resumed = _start_page(folder, reads, root)
        log(f"{page}: {'resuming' if resumed else 'running'} `python -m experiments run {page} --preset {preset}`")
        runner.run(page, preset, folder)
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
        page = todo[0]
        if ran.count(page) >= MAX_RUNS_PER_PAGE:
            raise RuntimeError(f"{page} is still stale after {MAX_RUNS_PER_PAGE} runs: it reads a file it changes "
                               "itself, or its declared inputs are wrong (`python -m experiments stale`)")
        rerun_page(page, registry, root, log)
        ran.append(page)
