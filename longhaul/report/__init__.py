"""Reports of a run: `report.html`, `summary.md` and `results.json`, read only from its store.

The trials stream from the store in batches, once: each is added to the aggregates (`Aggregator`)
and offered to the page's drill-down (`DrillPicker`, which keeps keys), then dropped. The page is
written in pieces, the few trials it shows in full read back one at a time, so a report's memory
does not grow with the number of trials.
"""

from __future__ import annotations

import os
from pathlib import Path

from longhaul.catalog import Catalog
from longhaul.errors import StoreError
from longhaul.pricing import read_prices
from longhaul.report.results import Aggregator, Results
from longhaul.store import iter_trials, read_manifest
from longhaul.task import Task
from longhaul.tokens import release_vocabularies


def write_report(run_dir: Path, out_dir: Path | None = None, prices: Path | None = None, catalog: Catalog | None = None) -> dict[str, Path]:
    """Write the three files (into the run folder unless `out_dir`); returns their paths.
    `catalog`: the tasks and strategies to read the run with (default: those its manifest records)."""
    from longhaul.report import html, markdown

    manifest = read_manifest(run_dir)
    catalog = catalog or Catalog.of_run(run_dir, manifest.catalog)
    aggregator, picker = Aggregator(read_prices(prices) if prices else {}), html.DrillPicker()
    for trial in iter_trials(run_dir):
        aggregator.add(trial)
        picker.add(trial)
    results = aggregator.results(manifest, run_dir, catalog)
    release_vocabularies()  # every token count is made: drawing may use that memory
    tasks = catalog.tasks
    # A task that measures its size itself (French numbers: end - start + 1) has no one parameter to name.
    size_labels = {name: task.size_param if type(task).size is Task.size else "size" for name, task in tasks.items()}
    out_dir = out_dir or run_dir
    paths = {"html": out_dir / "report.html", "md": out_dir / "summary.md", "json": out_dir / "results.json"}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths["json"].write_text(results.model_dump_json(indent=2) + "\n", encoding="utf-8")
        paths["md"].write_text(markdown.render(results, size_labels), encoding="utf-8")
        # Piece by piece into a file beside it, then put in place: never a half-written page.
        partial = paths["html"].with_name(f".{paths['html'].name}.{os.getpid()}.tmp")
        try:
            with partial.open("w", encoding="utf-8") as page:
                for i, piece in enumerate(html.render(results, size_labels, lambda task: iter_trials(run_dir, picker.keys(task)))):
                    page.write(f"\n{piece}" if i else piece)
            partial.replace(paths["html"])
        finally:
            partial.unlink(missing_ok=True)
    except OSError as exc:
        raise StoreError(f"--out {out_dir}: cannot write the report there ({exc.strerror or exc})") from None
    return paths


__all__ = ["Results", "write_report"]
