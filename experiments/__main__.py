"""``python -m experiments list | run NAME [--preset quick|cpu|gpu] [--out DIR] | plot NAME [--out DIR] | stale [--all]``.

``stale`` lists the committed pages whose inputs (reference models, other pages' rows) changed since they ran,
in the order to run them again (`experiments.provenance`); its exit status is 1 when any is stale.
``stale --run`` runs them again in that order, and resumes where an earlier ``--run`` stopped (`experiments.rerun`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import experiments.registered  # noqa: F401 - registers the experiments
from experiments.runner import PRESETS, REGISTRY, ROOT, read_rows, run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("name", choices=sorted(REGISTRY))
    r.add_argument("--preset", choices=PRESETS, default="cpu")
    r.add_argument("--out", type=Path)
    p = sub.add_parser("plot")
    p.add_argument("name", choices=sorted(REGISTRY))
    p.add_argument("--out", type=Path)
    st = sub.add_parser("stale", help="committed pages made from inputs that have changed since, in re-run order")
    st.add_argument("--all", action="store_true", help="list the pages that are up to date too")
    st.add_argument("--run", action="store_true",
                    help="run the stale pages again, in order, until none is stale (resumes where a previous --run stopped)")
    st.add_argument("--dry-run", action="store_true", help="with --run: only say which pages would run first")
    st.add_argument("--pending", metavar="WHY",
                    help="write every stale page into results/pending_reruns.json with this reason (for a commit that "
                         "lands a new model before its pages have run again)")
    args = ap.parse_args(argv)
    if args.cmd == "stale" and args.pending is not None:
        from experiments import provenance

        if not args.pending.strip():
            print("--pending needs a reason, for example 'new reference models from the GPU run of DATE'",
                  file=sys.stderr)
            return 2
        listed = provenance.write_pending(provenance.stale_pages(provenance.all_pages(REGISTRY)), args.pending)
        print(f"{provenance.PENDING_FILE}: {len(listed)} page(s) pending" + "".join(f"\n  {p}" for p in listed))
        return 0
    if args.cmd == "stale" and args.run:
        from experiments.rerun import rerun_stale

        rerun_stale(REGISTRY, dry_run=args.dry_run, log=lambda m: print(m, flush=True))
        return 0
    if args.cmd == "stale":
        from experiments import provenance

        from experiments.rerun import estimate

        states = provenance.stale_pages(provenance.all_pages(REGISTRY))
        estimate(states, REGISTRY)
        print(provenance.render(states, show_all=args.all), end="")
        return 1 if any(s.stale for s in states) else 0
    if args.cmd == "list":
        for name, exp in sorted(REGISTRY.items()):
            print(f"{name:<12} {exp.description}")
        return 0
    if args.cmd == "run":
        run(args.name, args.preset, args.out)
        return 0
    out = args.out or ROOT / "results" / args.name
    rows = read_rows(out / "raw.csv")
    if not rows:
        print(f"no raw data in {out}/raw.csv; run the experiment first", file=sys.stderr)
        return 1
    for path in REGISTRY[args.name].plot(rows, out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
