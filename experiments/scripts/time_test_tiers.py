"""Time the README's Quickstart and the two test tiers on this machine; write ``results/test_tiers/``.

    python -m experiments.scripts.time_test_tiers [--out results/test_tiers] [--tiers fast full] [--no-quickstart]

Quickstart: a new virtualenv in a temporary folder, ``pip install -e '.[dev]'`` of this checkout,
then ``nst demo`` with an empty weights cache (so the one-time fetch is included).  Each test tier
runs in its own ``python -m pytest`` process (``-p no:cacheprovider``): wall time, test counts, the
children's peak resident memory and the ten slowest tests, from pytest's own report.
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
TIERS = {"fast": ["-m", "not slow", "-n", "2", "--dist", "loadfile"], "full": []}


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


def time_quickstart() -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("NST_CACHE", None)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-e", f"{ROOT}[dev]"], check=True,
                       capture_output=True, env=env)
        install = time.perf_counter() - t0
        t0 = time.perf_counter()
        demo = subprocess.run([str(venv / "bin" / "nst"), "demo", "-o", str(Path(tmp) / "demo")], cwd=ROOT,
                              capture_output=True, text=True, env=env)
        return {"install_seconds": round(install, 1), "demo_seconds": round(time.perf_counter() - t0, 1),
                "demo_returncode": demo.returncode}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "test_tiers")
    ap.add_argument("--tiers", nargs="+", choices=sorted(TIERS), default=["fast", "full"])
    ap.add_argument("--no-quickstart", action="store_true")
    args = ap.parse_args()
    quick = None if args.no_quickstart else time_quickstart()
    rows = [run_tier(t) for t in args.tiers]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    run = {"command": "python -m experiments.scripts.time_test_tiers " + " ".join(sys.argv[1:]), "git_commit": commit,
           "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
           "date": time.strftime("%Y-%m-%d"), "quickstart": quick, "tiers": rows}
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
    if quick:
        lines += ["", f"Quickstart (README): `pip install -e '.[dev]'` into a new virtualenv {quick['install_seconds']:.0f} s; "
                  f"`nst demo` with an empty weights cache {quick['demo_seconds']:.0f} s "
                  f"(exit status {quick['demo_returncode']})."]
    for r in rows:
        lines += ["", f"Slowest tests, {r['tier']} tier:", ""]
        lines += [f"- {s:.1f} s {w} `{t}`" for s, w, t in r["slowest"]]
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if any(r["returncode"] for r in rows) or (quick and quick["demo_returncode"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
