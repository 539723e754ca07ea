"""Time the two test tiers on this machine and write ``results/test_tiers/``.

    python -m experiments.scripts.time_test_tiers [--out results/test_tiers] [--tiers fast full]

Each tier runs in its own ``python -m pytest`` process (``-p no:cacheprovider``): wall time, test
counts, the children's peak resident memory and the ten slowest tests, from pytest's own report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIERS = {"fast": ["-m", "not slow"], "full": []}


def run_tier(name: str) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10", *TIERS[name]]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = proc.stdout
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|deselected|errors?)", out.splitlines()[-1])}
    slowest = re.findall(r"^([0-9.]+)s (call|setup|teardown)\s+(\S+)$", out, re.M)
    return {"tier": name, "command": "python -m pytest " + " ".join(repr(a) if " " in a else a for a in TIERS[name]),
            "seconds": round(seconds, 1), "returncode": proc.returncode, "counts": counts,
            "peak_rss_mb": round(max(peak_kb, before) / 1024), "slowest": [(float(s), w, t) for s, w, t in slowest]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "test_tiers")
    ap.add_argument("--tiers", nargs="+", choices=sorted(TIERS), default=["fast", "full"])
    args = ap.parse_args()
    rows = [run_tier(t) for t in args.tiers]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    run = {"command": "python -m experiments.scripts.time_test_tiers " + " ".join(sys.argv[1:]), "git_commit": commit,
           "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
           "date": time.strftime("%Y-%m-%d"), "tiers": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    lines = [f"# Test tiers on {cpu}, {os.cpu_count()} cores ({run['date']}, commit {commit[:7]})", "",
             f"Command: `{run['command'].strip()}`. Each tier in its own process; peak memory is the largest "
             "resident set of the pytest process and its children.", "",
             "| tier | command | tests | wall time | peak memory |", "|---|---|---|---|---|"]
    for r in rows:
        c = r["counts"]
        tests = f"{c.get('passed', 0)} passed" + "".join(f", {v} {k}" for k, v in c.items() if k != "passed")
        lines.append(f"| {r['tier']} | `{r['command']}` | {tests} | {r['seconds'] / 60:.1f} min ({r['seconds']:.0f} s) "
                     f"| {r['peak_rss_mb'] / 1024:.1f} GB |")
    for r in rows:
        lines += ["", f"Slowest tests, {r['tier']} tier:", ""]
        lines += [f"- {s:.1f} s {w} `{t}`" for s, w, t in r["slowest"]]
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if any(r["returncode"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
