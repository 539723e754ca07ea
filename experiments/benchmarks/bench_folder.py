"""Benchmark: a folder of photos through a feedforward model, one by one against the stream.

    python -m experiments.benchmarks.bench_folder [--copies 6] [--max-size 512] [--repeats 3]
        [--model results/models/johnson_starry_night.nst] [--out results/bench_folder]

The folder: the five Kodak evaluation photos (768×512, as one camera's folder would be), ``--copies``
times each, in file-name order.  Every configuration decodes each file at ``--max-size``, stylizes
it with style 0 and writes a PNG, and is timed from the first decode to the last write:

* ``loop``: ``load_image`` → ``stylize`` → ``save_image``, one file after the other;
* ``stream, batch 1``: `FeedforwardStylizer.stylize_stream` (the next files decode on a background
  thread while the network runs) with a writer thread, as ``nst stylize FOLDER --model`` runs;
* ``stream, batch 4``: the same with four same-size pictures per network pass (the default).

Each configuration runs in its own process, compiled first on the folder's shapes, and the best of
``--repeats`` passes over the folder is reported (images per second).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"loop": None, "stream, batch 1": 1, "stream, batch 4": 4}


def one_pass(model, folder: Path, out: Path, config: str, max_size: int) -> float:
    from nst.io.images import list_images, load_image, save_image, save_stream

    files = list_images(folder)
    t0 = time.perf_counter()
    if CONFIGS[config] is None:
        for f in files:
            save_image(model.stylize(load_image(f, max_size=max_size), style=0), out / f"{f.stem}.png")
    else:
        stream = model.stylize_stream(files, style=0, max_size=max_size, batch_size=CONFIGS[config])
        save_stream((r.image, out / f"{r.content_name}.png") for r in stream)  # as nst stylize writes
    return time.perf_counter() - t0


def child(model_path: str, folder: str, config: str, max_size: int, repeats: int) -> dict:
    import nst

    model = nst.load(model_path)
    folder_p = Path(folder)
    with tempfile.TemporaryDirectory(prefix="bench_folder_out_") as out:
        one_pass(model, folder_p, Path(out), config, max_size)  # compile for the folder's shapes
        times = [one_pass(model, folder_p, Path(out), config, max_size) for _ in range(repeats)]
    n = len(list(folder_p.iterdir()))
    return {"config": config, "images": n, "best_s": min(times), "times_s": times, "images_per_s": n / min(times)}


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    meta, rows = data["meta"], data["rows"]
    base = next(r for r in rows if r["config"] == "loop")
    lines = [f"Machine: {meta['cpu']} ({meta['cores']} cores), JAX {meta['jax']}. Command: `{meta['command']}`", "",
             f"{base['images']} photos (the five Kodak evaluation photos, {meta['copies']} copies each, 768×512) "
             f"through `{meta['model']}`, decoded at --max-size {meta['max_size']}, style 0, each written as PNG; "
             f"best of {meta['repeats']} passes after one compiling pass, each configuration in its own process.", "",
             "| configuration | images | best pass | images per second | vs the one-by-one loop |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['images']} | {r['best_s']:.2f} s | {r['images_per_s']:.2f} | "
                     f"{r['images_per_s'] / base['images_per_s']:.2f}× |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_folder", 3)
    ap.add_argument("--copies", type=int, default=6)
    ap.add_argument("--max-size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="results/models/johnson_starry_night.nst")
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    if args.child:
        model_path, folder, config = args.child
        from experiments.runner import child_result

        child_result(child(model_path, folder, config, args.max_size, args.repeats))
        return
    from experiments.runner import machine_info, run_child, save_benchmark

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_folder_in_") as tmp:
        folder = Path(tmp)
        for photo in sorted((ROOT / "data/content/eval").glob("kodak_*.jpg")):
            for k in range(args.copies):
                shutil.copyfile(photo, folder / f"{photo.stem}_{k:02d}.jpg")
        for config in CONFIGS:
            rows.append(run_child("experiments.benchmarks.bench_folder",
                                  ["--child", str(ROOT / args.model), str(folder), config, "--max-size",
                                   str(args.max_size), "--repeats", str(args.repeats)]))
            print(f"{config}: {rows[-1]['images_per_s']:.2f} images/s", flush=True)
    meta = {**machine_info(), "command": " ".join(["python -m experiments.benchmarks.bench_folder", *sys.argv[1:]]),
            "start": started, "end": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "copies": args.copies,
            "max_size": args.max_size, "repeats": args.repeats, "model": args.model}
    save_benchmark(args.out, meta, rows=rows)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
