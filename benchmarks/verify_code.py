"""Benchmark: verify a complete 10,000-entry answer of each code task, whole and streamed.

Target: under 1 s each, whole, on the 2-core reference machine. Each measurement runs in its own
process (peak memory is its own), three times; the median is reported. Streamed means deltas of 4
characters, about a token each, as a provider sends them. Figures go to benchmarks/results/.
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "verify_code.json"
ENTRIES = 10_000

# The parameters of a 10,000-entry instance of each code task (a new code task is added here: the
# benchmark refuses to skip one).
INSTANCES: dict[str, dict[str, Any]] = {
    "py_table": {"start": 0, "end": ENTRIES - 1},
    "py_tests": {"start": 0, "end": ENTRIES - 1, "expected": "letters"},  # Roman numerals stop at 3999
    "py_enum": {"start": 0, "end": ENTRIES - 1},
    "json_records": {"seed": 0, "start": 1, "count": ENTRIES},
    "sql_inserts": {"seed": 0, "start": 1, "count": ENTRIES},
}


def one_statement_a_row(text: str) -> str:
    """The same rows as one `INSERT` statement each, the other form `sql_inserts` accepts."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("INSERT"))
    rows = [line.strip().rstrip(",;") for line in lines if line.strip().startswith("(")]
    return "```sql\n" + "".join(f"{header} {row};\n" for row in rows) + "```\n"


# Other forms of an answer, measured beside the one `render` writes: name -> (task, rewrite).
FORMS = {"sql_inserts/statements": ("sql_inserts", one_statement_a_row)}


def run(name: str, mode: str) -> dict[str, Any]:
    from longhaul.catalog import Catalog
    from longhaul.verify import StreamingVerifier, verify

    task_name, rewrite = FORMS.get(name, (name, None))
    task = Catalog().task(task_name)
    params = task.params(INSTANCES[task_name])
    text = task.render(params)
    if rewrite is not None:
        text = rewrite(text)
    start = time.perf_counter()
    if mode == "whole":
        verdict = verify(task, params, text)
    else:
        verifier = StreamingVerifier(task, params)
        for i in range(0, len(text), 4):
            verifier.feed(text[i : i + 4])
        verdict = verifier.finish("end_turn")
    seconds = time.perf_counter() - start
    assert verdict.outcome == "complete" and verdict.items_correct == ENTRIES, verdict.explanation
    return {
        "task": name,
        "mode": mode,
        "entries": verdict.items_correct,
        "answer_kb": round(len(text) / 1e3, 1),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) > 2:
        print(json.dumps(run(sys.argv[1], sys.argv[2])))
        return
    from longhaul.catalog import Catalog
    from longhaul.code_task import CodeTask

    code_tasks = sorted(name for name, t in Catalog().tasks.items() if isinstance(t, CodeTask))
    missing = [name for name in code_tasks if name not in INSTANCES]
    if missing:
        raise SystemExit(f"benchmarks/verify_code.py: add a 10,000-entry instance of {', '.join(missing)} to INSTANCES")
    rows = []
    for name in sorted([*code_tasks, *FORMS]):
        for mode in ("whole", "streamed"):
            runs = []
            for _ in range(3):
                out = subprocess.run([sys.executable, __file__, name, mode], check=True, capture_output=True, text=True)
                runs.append(json.loads(out.stdout))
            row = runs[0] | {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "rounds": [r["seconds"] for r in runs],
            }
            rows.append(row)
            print(f"{name:22} {mode:9} {row['seconds']:6.3f} s  peak {row['peak_rss_mb']:6.1f} MB  ({row['answer_kb']} KB)")
    report = {
        "benchmark": f"verify a complete {ENTRIES:,}-entry answer of each code task",
        "target": "under 1 s each, whole",
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
