"""Execute the notebooks in place (outputs saved), or check them without saving.

    python notebooks/execute.py            # full mode: regenerate the committed outputs, record the times
    NST_QUICK=1 python notebooks/execute.py --check --record   # quick mode: run, record the times, save nothing
    NST_QUICK=1 python notebooks/execute.py --check   # CI: tiny sizes, fail on any error, write nothing

Each notebook runs with notebooks/ as its working directory and a 10-minute limit per cell.  Saving
(full mode) and ``--record`` write each notebook's run time, per mode, to ``results/notebooks/``
(``timings.json``, ``summary.md``, ``run.json``), which each notebook's setup header reads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMINGS = HERE.parent / "results" / "notebooks"


def notebooks(names: list[str] | None = None) -> list[Path]:
    found = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if names:
        found = [p for p in found if any(n in p.name for n in names)]
    return found


def execute(path: Path, save: bool, timeout: int = 600) -> float:
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(book, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    seconds = time.perf_counter() - t0
    if save:
        for cell in book.cells:  # keep the files stable between runs: no execution timestamps
            cell.get("metadata", {}).pop("execution", None)
        tmp = path.with_suffix(".ipynb.tmp")
        nbformat.write(book, tmp)
        os.replace(tmp, path)
    return seconds


def record(name: str, seconds: float) -> None:
    """Store one notebook's run time for the current mode (``NST_QUICK``) in results/notebooks/."""
    import json

    sys.path.insert(0, str(HERE.parent))
    from experiments.runner import machine_info

    mode = "quick" if os.environ.get("NST_QUICK") == "1" else "full"
    TIMINGS.mkdir(parents=True, exist_ok=True)
    path = TIMINGS / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    info = machine_info()
    data.setdefault(name, {})[mode] = {"seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d"),
                                       "machine": f"{info['cpu']} ({info['cores']} cores)"}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    run = {**info, "command": "python notebooks/execute.py; NST_QUICK=1 python notebooks/execute.py --check --record",
           "end": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (TIMINGS / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    rows = ["Run time of each notebook top to bottom on the development machine, as `notebooks/execute.py` "
            "recorded it (full mode: the committed outputs; quick mode: `NST_QUICK=1`, what CI runs).", "",
            "| notebook | full mode | quick mode | machine |", "|---|---|---|---|"]
    for nb, modes in sorted(data.items()):
        cell = lambda m: f"{modes[m]['seconds']:.0f} s ({modes[m]['date']})" if m in modes else "not recorded"  # noqa: E731
        machine = (modes.get("full") or modes.get("quick"))["machine"]
        rows.append(f"| {nb} | {cell('full')} | {cell('quick')} | {machine} |")
    (TIMINGS / "summary.md").write_text("\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="substrings of notebook names (default: all)")
    ap.add_argument("--check", action="store_true", help="execute without saving outputs")
    ap.add_argument("--record", action="store_true", help="record the run times (always when saving)")
    args = ap.parse_args(argv)
    for path in notebooks(args.names):
        seconds = execute(path, save=not args.check)
        if args.record or not args.check:
            record(path.stem, seconds)
        size = path.stat().st_size / 1e6
        print(f"{path.name}: ran in {seconds:.0f} s{'' if args.check else f', saved ({size:.2f} MB)'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
