"""Keep an item's expensive, model-free work in its page folder, keyed by everything it depends on.

Some items do an hour's worth of work that no reference model touches, next to a few seconds that do:
`quality_vs_time` and `fig5_ratio` run an L-BFGS curve on a fixed objective, then read the committed
networks' passes off it, in the same row.  When a model changes, `experiments.rerun` runs those rows
again; without this, every curve would run again although none of them changed.

`recall` returns what `remember` stored for an item when the item's *definition* (a JSON-able dict of every
value the work depends on: photo, painting, size, steps, start, seed, the objective's weights) is exactly the
one stored, and the files it wrote are still there; otherwise None, and the item does the work again.  The
record is JSON file (``NAME.memo.json`` beside the files it describes), committed with the page; it also keeps the
seconds the work took, which ``python -m experiments stale`` takes off a re-run's estimate.
A change to the code that does the work is not part of a definition: as with a page's committed rows, which a
resumed run also keeps, a page whose code changed is run again from an empty folder (``--out``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable


SUFFIX = ".memo.json"


def saved_seconds(folder: Path) -> dict[str, float]:
    """``{item id: seconds}`` of the work the memo records in a page folder hold: what a re-run that reuses it
    does not spend again."""
    out: dict[str, float] = {}
    for record in sorted(Path(folder).glob(f"**/*{SUFFIX}")):
        for item_id, entry in _load(record).items():
            out[item_id] = out.get(item_id, 0.0) + float(entry.get("seconds") or 0.0)
    return out


def canonical(definition: dict[str, Any]) -> str:
    """The definition as one JSON string (keys sorted, tuples as lists): what two definitions are compared by."""
    return json.dumps(definition, sort_keys=True, default=list)


def _load(record: Path) -> dict:
    return json.loads(record.read_text()) if record.is_file() else {}


def recall(record: Path, item_id: str, definition: dict[str, Any], files: Iterable[Path] = ()) -> dict | None:
    """The result `remember` stored for ``item_id`` under ``definition``, if the definition is the same and every
    one of ``files`` (what the work wrote) still exists; None otherwise."""
    entry = _load(record).get(item_id)
    if entry is None or entry.get("definition") != json.loads(canonical(definition)):
        return None
    if not all(Path(f).is_file() for f in files):
        return None
    return entry["result"]


def remember(record: Path, item_id: str, definition: dict[str, Any], result: dict[str, Any],
             seconds: float | None = None) -> None:
    """Store ``result`` for ``item_id`` under ``definition``, with the ``seconds`` the work took (written
    atomically: an interrupted run keeps the record it had)."""
    if not record.name.endswith(SUFFIX):
        raise ValueError(f"{record}: a memo record's name ends in {SUFFIX}")
    data = _load(record)
    data[item_id] = {"definition": json.loads(canonical(definition)), "result": result,
                     **({"seconds": round(float(seconds), 3)} if seconds is not None else {})}
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, record)
