"""Reports of a run: `report.html`, `summary.md` and `results.json`, read only from its store."""

from __future__ import annotations

from pathlib import Path

from longhaul.catalog import Catalog
from longhaul.dryrun import read_prices
from longhaul.errors import StoreError
from longhaul.report.results import Results, aggregate
from longhaul.store import read_manifest, read_trials
from longhaul.task import Task
from longhaul.trial import TrialRecord


def write_report(
    run_dir: Path,
    out_dir: Path | None = None,
    prices: Path | None = None,
    catalog: Catalog | None = None,
    trials: list[TrialRecord] | None = None,
) -> dict[str, Path]:
    """Write the three files (into the run folder unless `out_dir`); returns their paths.
    `catalog`: the tasks and strategies to read the run with (default: those its manifest records).
    `trials`: the run's trials when the caller already holds them (a run that just ended)."""
    from longhaul.report import html, markdown

    manifest = read_manifest(run_dir)
    if trials is None:
        trials = read_trials(run_dir)
    catalog = catalog or Catalog.of_run(run_dir, manifest.catalog)
    results = aggregate(trials, manifest, run_dir, read_prices(prices) if prices else {}, catalog)
    tasks = catalog.tasks
    # A task that measures its size itself (French numbers: end - start + 1) has no one parameter to name.
    size_labels = {name: task.size_param if type(task).size is Task.size else "size" for name, task in tasks.items()}
    out_dir = out_dir or run_dir
    paths = {"html": out_dir / "report.html", "md": out_dir / "summary.md", "json": out_dir / "results.json"}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths["json"].write_text(results.model_dump_json(indent=2) + "\n", encoding="utf-8")
        paths["md"].write_text(markdown.render(results), encoding="utf-8")
        paths["html"].write_text(html.render(results, trials, size_labels), encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"--out {out_dir}: cannot write the report there ({exc.strerror or exc})") from None
    return paths


__all__ = ["Results", "write_report"]
