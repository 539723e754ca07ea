"""Execute the notebooks in place (outputs saved), or check them without saving.

    python notebooks/execute.py            # full mode: regenerate the committed outputs
    NST_QUICK=1 python notebooks/execute.py --check   # CI: tiny sizes, fail on any error, write nothing

Each notebook runs with notebooks/ as its working directory and a 10-minute limit per cell.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="substrings of notebook names (default: all)")
    ap.add_argument("--check", action="store_true", help="execute without saving outputs")
    args = ap.parse_args(argv)
    for path in notebooks(args.names):
        seconds = execute(path, save=not args.check)
        size = path.stat().st_size / 1e6
        print(f"{path.name}: ran in {seconds:.0f} s{'' if args.check else f', saved ({size:.2f} MB)'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
