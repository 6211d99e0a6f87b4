"""`longhaul merge RUN... --out DIR`: the run folders of a suite's shards, joined into one run.

The merged folder is an ordinary run (manifest + trials.sqlite): report, compare, export, the
terminal UI and resume read it as any other (resume runs the trials of shards that are missing).
Runs of different suites are refused (their trials would not add up to one suite), and so is a
trial key found in two of them (a shard run twice, or two unsharded runs), and a run that a
process is still writing to: nothing is written. Runs made by different longhaul versions are
merged, with a warning: the version decides no trial's key, and CI runners rarely install the
same one on purpose, but verdicts of two verifier versions may differ.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from longhaul.catalog import Catalog
from longhaul.errors import BadInput, StoreError
from longhaul.runner import plan
from longhaul.store import DATABASE, Manifest, RunStore, lock_holder, read_manifest
from longhaul.suite import differences

_COLUMNS = "key, model, task, params, size, strategy, sample, outcome, simulated, finished_at, record"
_JUDGEMENT_COLUMNS = "judge, digest, label, raw, input_tokens, output_tokens"


def merge(
    runs: Sequence[Path],
    out: Path,
    *,
    tasks_dir: Path | str | None = None,
    agents_dir: Path | str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Manifest:
    """Write the trials of `runs` into a new run folder `out`, and return its manifest.
    `tasks_dir`/`agents_dir`: where the runs' own task and strategy folders are now (a CI
    artifact is merged on another machine), recorded in the merged manifest. `warn` hears the
    one-line warnings (runs of different longhaul versions)."""
    if len(runs) < 2:
        raise BadInput("merge: give at least two run folders (the shards of one suite)")
    manifests = [read_manifest(run) for run in runs]
    for run in runs:
        holder = lock_holder(run)
        if holder is not None:
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise BadInput(f"merge: {run} is still being written by a longhaul process{who}; merge once it has ended")
    first = manifests[0]
    for run, manifest in zip(runs[1:], manifests[1:]):
        changed = differences(first.suite, manifest.suite)
        if changed:
            raise BadInput(f"merge: {run} ran another suite than {runs[0]}, so their trials are not one run's: " + "; ".join(changed))
    versions = sorted({m.longhaul_version for m in manifests})
    if len(versions) > 1 and warn is not None:
        made = ", ".join(f"{run} {m.longhaul_version}" for run, m in zip(runs, manifests))
        warn(f"merge: the runs were made by different longhaul versions ({made}); merged, but their verdicts may not be alike")
    _check_no_duplicates(runs)
    catalog = Catalog.of_run(runs[0], first.catalog, tasks_dir, agents_dir)
    merged = first.model_copy(
        update={
            "run_id": out.name,
            "shard": None,
            "trials_total": _total(first, catalog),
            "catalog": catalog.source,
            "started_at": min(m.started_at for m in manifests),
            "merged_from": [m.run_id for m in manifests],
            "stops": [stop for m in manifests for stop in m.stops],
        }
    )
    store = RunStore.create(out, merged)  # refuses a folder that already holds a run
    store.close()
    try:
        _copy(runs, out / DATABASE)
    except (sqlite3.Error, OSError) as exc:
        shutil.rmtree(out, ignore_errors=True)  # ours, made above: half a merge is no run
        raise StoreError(f"merge: cannot write {out / DATABASE} ({exc}); nothing was merged") from None
    return merged


def _total(manifest: Manifest, catalog: Catalog) -> int:
    """Trials the whole suite has (a shard's manifest knows only its share): planned again from
    the suite and the run's catalog, so a merge missing a shard shows as unfinished."""
    return len(plan(manifest.suite, catalog=catalog).trials)


def _check_no_duplicates(runs: Sequence[Path]) -> None:
    seen: dict[str, Path] = {}
    for run in runs:
        db = sqlite3.connect(_ro(run), uri=True)
        try:
            for (key,) in db.execute("SELECT key FROM trials"):
                if key in seen:
                    raise BadInput(
                        f"merge: trial {key} is in both {seen[key]} and {run}; merge each shard once (--shard i/n splits a suite)"
                    )
                seen[key] = run
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{run / DATABASE}: not a trial store longhaul can read ({exc})") from None
        finally:
            db.close()


def _copy(runs: Sequence[Path], database: Path) -> None:
    """Every trial and refusal judgement of the runs, one run per transaction (a database is
    detached only outside one); the caller removes the folder if any fails."""
    db = sqlite3.connect(database.resolve().as_uri(), isolation_level=None, uri=True)
    try:
        for run in runs:
            # Attached one at a time: SQLite attaches at most ten databases at once.
            db.execute("ATTACH DATABASE ? AS shard", (_ro(run),))
            db.execute("BEGIN")
            db.execute(f"INSERT INTO trials ({_COLUMNS}) SELECT {_COLUMNS} FROM shard.trials ORDER BY rowid")
            db.execute(
                f"INSERT OR IGNORE INTO refusal_judgements ({_JUDGEMENT_COLUMNS}) SELECT {_JUDGEMENT_COLUMNS} FROM shard.refusal_judgements"
            )
            db.execute("COMMIT")
            db.execute("DETACH DATABASE shard")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def _ro(run: Path) -> str:
    """A run's store as a read-only URI (percent-encoded: a folder name may hold `?` or `#`)."""
    return (run / DATABASE).resolve().as_uri() + "?mode=ro"
