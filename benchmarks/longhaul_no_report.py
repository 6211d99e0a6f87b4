"""`longhaul run` without its report, for the whole-process benchmark's third arm.

The command line has no way to skip the report: every `longhaul run` ends in `write_report`
(report.html, summary.md, results.json). To time the run alone, this wrapper installs a stand-in
`longhaul.report` module whose `write_report` writes nothing, then calls `longhaul.cli.main` with
its own arguments. Everything else is the command's own path: argument parsing, the plan, the
engine, the plain display, the summary table, the store. The stand-in also keeps the report
package from being imported, whose imports are part of the report's cost.

    python benchmarks/longhaul_no_report.py run SUITE --out RUN   # as `longhaul run SUITE --out RUN`
"""

from __future__ import annotations

import sys
import types
from pathlib import Path


def _no_report(
    run_dir: Path, out_dir: Path | None = None, prices: Path | None = None, tasks_dir: object = None, trials: object = None
) -> dict[str, Path]:
    folder = out_dir or run_dir
    # The names the command prints after a run; nothing is written there.
    return {"html": folder / "report.html", "md": folder / "summary.md", "json": folder / "results.json"}


def main() -> int:
    # The checkout this file is in, as `python -m longhaul.cli` run from its root would import.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    stand_in = types.ModuleType("longhaul.report", "write_report stubbed out by benchmarks/longhaul_no_report.py")
    stand_in.write_report = _no_report  # type: ignore[attr-defined]
    sys.modules["longhaul.report"] = stand_in
    from longhaul.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
