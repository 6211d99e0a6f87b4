"""The trial store: a run folder with `manifest.json` and `trials.sqlite` (WAL).

A trial is written in one transaction when it ends, before anyone is told it is done, so a
crash or `kill -9` loses at most the trials in flight. Keys are the primary key: a trial is
stored exactly once, and a resumed run skips every key already there.

A process writing to a run holds an exclusive `flock` on its `run.lock` for as long as the store
is open, so two processes never write one run (a second `resume` is refused in one line). The
kernel drops the lock when its process dies, `kill -9` included: a stale lock never blocks.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

from pydantic import BaseModel, Field, ValidationError

from longhaul.catalog import CatalogSource
from longhaul.errors import BadInput, StoreError
from longhaul.model_limits import LimitEntry
from longhaul.providers.local_model import LocalModel
from longhaul.shard import Shard
from longhaul.suite import Suite
from longhaul.trial import TrialRecord

MANIFEST = "manifest.json"
DATABASE = "trials.sqlite"
LOCK = "run.lock"
"""Held (flock) by the process writing to the run; it holds that process's pid, for the message."""

BATCH = 200
"""Trials read from the store at a time: a reader holds one batch, however many trials a run has."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    params TEXT NOT NULL,
    size INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    sample INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    finished_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_cell ON trials (model, task, size, strategy);
CREATE TABLE IF NOT EXISTS refusal_judgements (
    judge TEXT NOT NULL,
    digest TEXT NOT NULL,
    label TEXT NOT NULL,
    raw TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (judge, digest)
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    keys TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    max_tokens INTEGER
);
"""


class RunStop(BaseModel):
    """Why one invocation of a run (`run` or `resume`) ended before sending every trial it had to.
    The trials it did not send are missing from the store, so `longhaul resume` runs them."""

    reason: Literal["model_unavailable", "spend_guard", "batch_failed", "no_batch_api"]
    """`model_unavailable`: a model refused for good (401, 403, 404) and was sent nothing more;
    `spend_guard`: `--max-cost` or `--max-output-tokens` would have been passed; `batch_failed`: a
    provider batch (`run --batch`) failed as a whole, or the model's batch API failed, its trials unanswered;
    `no_batch_api`: the model's server has no batch endpoints, so a resume streams its trials."""

    model: str | None = None
    """The model stopped (`model_unavailable`, `batch_failed`)."""

    message: str
    """The line printed when it stopped."""

    why: str | None = None
    """What stopped the model, in a few words ("401 Unauthorized: check OPENAI_API_KEY", "batch ... failed as a whole (...)"):
    the end line's phrase for it (`model_unavailable`, `batch_failed`)."""

    not_sent: int = Field(ge=0)
    """Trials that stayed missing because of this stop."""

    at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class StoredBatch(BaseModel):
    """A provider batch a `run --batch` submitted (`longhaul.batch`): stored the moment it is
    submitted, so a resume polls it instead of submitting its trials again."""

    batch_id: str
    """The provider's id."""

    model: str
    keys: list[str]
    """The trial keys it holds (each request's custom_id)."""

    state: Literal["submitted", "ended", "failed", "lost"]
    """`submitted`: its results are not all stored yet; `ended`: they are; `failed`: the batch failed
    as a whole, and its trials, never answered, are for the next resume to submit again; `lost`: the
    provider no longer knew it (404), and its trials not stored were submitted again."""

    submitted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    max_tokens: int | None = None
    """The max_tokens its requests were sent: what their trials are recorded with, and what a resume's
    budget check counts them at (None: a batch stored before this was kept)."""


class ImportSource(BaseModel):
    """Where an imported run's answers came from (`longhaul import`): longhaul sent none of them."""

    format: str
    """The format read (`jsonl`, `openai-chat`, `raw`, `inspect`, ...)."""

    source: str
    """The file or folder read, as given."""

    records: int = Field(ge=0)
    """Answers imported (each one trial)."""

    skipped: int = Field(ge=0)
    """Records that could not be read and were left out, each reported when imported."""


class Manifest(BaseModel):
    """What a run was asked to do: enough to resume it, or to know what it measured."""

    run_id: str
    """The folder's name."""

    suite: Suite
    """The suite as resolved (command-line choices applied)."""

    suite_path: str | None = None
    """Where the suite was read from."""

    catalog: CatalogSource = Field(default_factory=CatalogSource)
    """The folders its tasks and strategies were loaded from (`--tasks-dir`, `--agents-dir`), so
    that reports, resume, export and the terminal UI read it with the same ones."""

    longhaul_version: str
    git_revision: str | None = None
    """longhaul's checkout revision, when it runs from one."""

    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    trials_total: int = 0
    """How many trials the suite has (a shard: how many are its share)."""

    shard: Shard | None = None
    """The share of the suite this run runs (`--shard i/n`), so that resuming it runs only that
    share; None: the whole suite."""

    merged_from: list[str] = Field(default_factory=list)
    """For a run made by `longhaul merge`: the run ids of the shards it was made of."""

    imported: ImportSource | None = None
    """For a run made by `longhaul import`: where its answers came from. Such a run has nothing to
    resume: longhaul never asked for its answers."""

    stops: list[RunStop] = Field(default_factory=list)
    """Every time a run or resume of it stopped before sending all its trials (a model stopped by
    an auth failure, the spend guard), oldest first; empty when none did."""

    model_limits: dict[str, LimitEntry] = Field(default_factory=dict)
    """The `--model-limits` entries the run's models were checked against, by the name they were
    given: a resume applies them again unless it is given a file of its own (then these are its)."""

    local_models: list[LocalModel] = Field(default_factory=list)
    """The run's `llamacpp/...` models: the GGUF file, its SHA-256, the context and the sampling
    settings sent (which weights, served how, the results are about)."""


class RunStore:
    """One run folder, open for writing trials and reading them back."""

    def __init__(self, folder: Path, manifest: Manifest, lock: int) -> None:
        """`lock`: the descriptor holding the folder's lock (`lock_run`), closed with the store."""
        self.folder = folder
        self.manifest = manifest
        self._lock: int | None = lock
        self._db = sqlite3.connect(folder / DATABASE, isolation_level=None)
        # WAL: readers (report, TUI) never block the writer. NORMAL: a committed trial survives
        # the process being killed (only a power cut could lose the last commits).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if "max_tokens" not in {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}:
            # A run made before batches kept it: its table gains the column (its batches read as None).
            self._db.execute("ALTER TABLE batches ADD COLUMN max_tokens INTEGER")

    @classmethod
    def create(cls, folder: Path, manifest: Manifest) -> RunStore:
        """A new run in `folder` (made if missing; an empty one is fine). The folder is locked
        before it is looked at, so of two runs given the same `--out` at once one gets it and the
        other is told in one line."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            lock = lock_run(folder)
        except OSError as exc:
            raise StoreError(
                f"--out {folder}: cannot make the run folder there ({exc.strerror or exc}); choose a folder you can write to"
            ) from None
        try:
            if (folder / DATABASE).exists() or (folder / MANIFEST).exists():
                if _imported(folder):  # `longhaul resume` refuses those: do not point to it
                    raise BadInput(f"--out: {folder} holds an imported run; choose another --out")
                raise BadInput(f"--out: {folder} already holds a run; resume it with `longhaul resume {folder}` or choose another folder")
            try:
                (folder / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
            except OSError as exc:
                raise StoreError(f"--out {folder}: cannot write the run's manifest there ({exc.strerror or exc})") from None
            with _readable(folder):
                return cls(folder, manifest, lock)
        except BaseException:
            os.close(lock)
            raise

    @classmethod
    def open(cls, folder: Path) -> RunStore:
        """An earlier run, locked for this process (another writing to it: one-line `BadInput`)."""
        read_manifest(folder)  # not a run folder: say so before making a lock file in it
        try:
            lock = lock_run(folder)
        except OSError as exc:
            raise StoreError(f"{folder}: cannot lock the run folder ({exc.strerror or exc}); resume needs to write to it") from None
        try:
            manifest = read_manifest(folder)  # again, under the lock: the last writer may have added to it
            with _readable(folder):
                return cls(folder, manifest, lock)
        except BaseException:
            os.close(lock)
            raise

    def add_stop(self, stop: RunStop) -> None:
        """Record an early stop in the manifest."""
        self.update_manifest(stops=[*self.manifest.stops, stop])

    def update_manifest(self, **fields: Any) -> None:
        """Change fields of the manifest (written whole to a new file, then renamed over the old: a
        reader never sees half a manifest)."""
        self.manifest = self.manifest.model_copy(update=fields)
        path = self.folder / MANIFEST
        new = path.with_name(MANIFEST + ".new")
        try:
            new.write_text(self.manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
            os.replace(new, path)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write it ({exc.strerror or exc}); the trials stored are kept") from None

    def max_tokens_sent(self) -> dict[str, set[int | None]]:
        """Each model's max_tokens its stored trials were sent, and those its pending batches' requests
        were (their trials are recorded so when collected); None: stored before it was recorded."""
        sent: dict[str, set[int | None]] = {}
        with _readable(self.folder):
            for model, n in self._db.execute(
                "SELECT DISTINCT model, json_extract(record, '$.max_tokens') FROM trials"
                " UNION SELECT DISTINCT model, max_tokens FROM batches WHERE state = 'submitted'"
            ):
                sent.setdefault(model, set()).add(n)
        return sent

    def done_keys(self) -> set[str]:
        with _readable(self.folder):
            return {row[0] for row in self._db.execute("SELECT key FROM trials")}

    def record(self, trial: TrialRecord) -> None:
        """Store one finished trial, in one transaction; a write that fails (a full disk) is a
        `StoreError` saying how to resume, and the trials stored before it stay."""
        try:
            self._write(trial)
        except (sqlite3.Error, OSError) as exc:
            full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "full" in str(exc)
            what = "the disk is full" if full else f"cannot write to it ({exc})"
            raise StoreError(
                f"{self.folder / DATABASE}: {what}; the trials stored before this one are kept. "
                f"{'Free some space, then resume' if full else 'Resume'} with: longhaul resume {self.folder}"
            ) from None

    def _write(self, trial: TrialRecord) -> None:
        s = trial.spec
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO trials (key, model, task, params, size, strategy, sample, outcome, simulated, finished_at, record)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.key,
                    s.model,
                    s.task,
                    json.dumps(s.params, sort_keys=True),
                    s.size,
                    s.strategy,
                    s.sample,
                    trial.outcome,
                    int(trial.simulated),
                    trial.finished_at.isoformat(),
                    trial.model_dump_json(),
                ),
            )

    def cached_judgement(self, judge: str, digest: str) -> tuple[str, str] | None:
        """(label, raw reply) of the refusal judge's earlier reading of the same text, if any."""
        row = self._db.execute("SELECT label, raw FROM refusal_judgements WHERE judge = ? AND digest = ?", (judge, digest)).fetchone()
        return (row[0], row[1]) if row else None

    def save_judgement(self, judge: str, digest: str, label: str, raw: str, input_tokens: int, output_tokens: int) -> None:
        """Keep a refusal judgement as soon as it is made (before its trial is stored), so that a
        resumed run asks the judge again for none of them. The address is all that is kept of
        the judge: never a key."""
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO refusal_judgements (judge, digest, label, raw, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?)",
                (judge, digest, label, raw, input_tokens, output_tokens),
            )

    def add_batch(self, batch: StoredBatch) -> None:
        """Keep a submitted batch, in one transaction, before anything else happens to it."""
        with self._db:
            self._db.execute(
                "INSERT INTO batches (batch_id, model, keys, state, submitted_at, max_tokens) VALUES (?, ?, ?, ?, ?, ?)",
                (batch.batch_id, batch.model, json.dumps(batch.keys), batch.state, batch.submitted_at.isoformat(), batch.max_tokens),
            )

    def set_batch_state(self, batch_id: str, state: Literal["ended", "failed", "lost"]) -> None:
        with self._db:
            self._db.execute("UPDATE batches SET state = ? WHERE batch_id = ?", (state, batch_id))

    def batches(self) -> list[StoredBatch]:
        """Every batch this run submitted, in the order it submitted them."""
        rows = self._db.execute("SELECT batch_id, model, keys, state, submitted_at, max_tokens FROM batches ORDER BY rowid").fetchall()
        return [
            StoredBatch(batch_id=b, model=m, keys=json.loads(k), state=s, submitted_at=datetime.fromisoformat(t), max_tokens=n)
            for b, m, k, s, t, n in rows
        ]

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM trials").fetchone()[0])

    def outcome_counts(self) -> Counter[str]:
        return Counter(dict(self._db.execute("SELECT outcome, count(*) FROM trials GROUP BY outcome").fetchall()))

    def trials(self) -> Iterator[TrialRecord]:
        """Every stored trial, in the order they finished."""
        with _readable(self.folder):
            for (record,) in self._db.execute("SELECT record FROM trials ORDER BY rowid"):
                yield TrialRecord.model_validate_json(record)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None


def lock_run(folder: Path) -> int:
    """Lock a run folder for writing: the open descriptor of its `run.lock`, holding an exclusive
    flock. Held elsewhere: `BadInput` naming the folder and the holder's pid."""
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise BadInput(
            f"{folder}: another longhaul process{who} is running this run; wait for it to end (or stop it), then `longhaul resume {folder}`"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def lock_holder(folder: Path) -> str | None:
    """Who holds a run folder's lock, without taking it (nor making a lock file): None when no
    process writes to the run; else the holder's pid as it wrote it ("" if it wrote none yet)."""
    try:
        fd = os.open(folder / LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return None  # never written to since locks were kept
    try:
        # A shared lock conflicts with the writer's exclusive one, and with nothing else.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken
    return None


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.is_file() or not (folder / DATABASE).is_file():
        raise BadInput(f"{folder}: not a longhaul run folder (no {MANIFEST} and {DATABASE})")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise BadInput(f"{path}: not a manifest longhaul can read ({exc.errors()[0]['msg']})") from None


def git_revision(folder: Path) -> str | None:
    """The revision of the checkout `folder` is in, if it is one."""
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@contextmanager
def _readable(folder: Path) -> Iterator[None]:
    """A damaged store (not SQLite, truncated, a record longhaul cannot read) is one line naming it."""
    try:
        yield
    except (sqlite3.DatabaseError, ValidationError) as exc:
        what = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise StoreError(
            f"{folder / DATABASE}: not a trial store longhaul can read ({what}); it is damaged, or was not written by longhaul"
        ) from None


def _reader(folder: Path) -> sqlite3.Connection:
    """A read-only connection: browsing a run (even one being written) never writes to it."""
    if not (folder / DATABASE).is_file():
        raise BadInput(f"{folder}: not a longhaul run folder (no {MANIFEST} and {DATABASE})")
    with _readable(folder):
        return sqlite3.connect(f"file:{folder / DATABASE}?mode=ro", uri=True)


def read_index(folder: Path) -> list[tuple[str, str, str, int, str, str]]:
    """(key, model, task, size, strategy, outcome) of every stored trial, without their text."""
    db = _reader(folder)
    try:
        with _readable(folder):
            return list(db.execute("SELECT key, model, task, size, strategy, outcome FROM trials ORDER BY rowid"))
    finally:
        db.close()


def read_retries(folder: Path) -> int:
    """Retries the stored trials took, summed in the database (no record is read into Python)."""
    db = _reader(folder)
    try:
        with _readable(folder):
            return int(db.execute("SELECT coalesce(sum(json_extract(record, '$.retries')), 0) FROM trials").fetchone()[0])
    finally:
        db.close()


def read_trial(folder: Path, key: str) -> TrialRecord | None:
    db = _reader(folder)
    try:
        with _readable(folder):
            row = db.execute("SELECT record FROM trials WHERE key = ?", (key,)).fetchone()
            return TrialRecord.model_validate_json(row[0]) if row else None
    finally:
        db.close()


def iter_trials(folder: Path, keys: Iterable[str] | None = None, batch: int = BATCH) -> Iterator[TrialRecord]:
    """The stored trials in the order they finished, read `batch` at a time (one batch in memory,
    however long the run), from a read-only connection: a run still writing is never blocked, and
    its trials stored after the reading began are not in it. With `keys`, those trials in the
    keys' order (a key not stored is skipped)."""
    db = _reader(folder)
    try:
        with _readable(folder):
            if keys is None:
                cursor = db.execute("SELECT record FROM trials ORDER BY rowid")
                while rows := cursor.fetchmany(batch):
                    for (record,) in rows:
                        yield TrialRecord.model_validate_json(record)
            else:
                for key in keys:
                    row = db.execute("SELECT record FROM trials WHERE key = ?", (key,)).fetchone()
                    if row is not None:
                        yield TrialRecord.model_validate_json(row[0])
    finally:
        db.close()


def read_trials(folder: Path) -> list[TrialRecord]:
    """Every stored trial, in a list: for a run small enough to hold (`iter_trials` streams them)."""
    return list(iter_trials(folder))


class StoredTrials(Sequence[TrialRecord]):
    """A run's trials as a sequence read from its store on demand: iterating streams them in
    batches, `len` and indexing ask SQLite, and nothing is kept between calls (each call sees the
    store as it is then)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __iter__(self) -> Iterator[TrialRecord]:
        return iter_trials(self.folder)

    def __len__(self) -> int:
        return int(self._query("SELECT count(*) FROM trials", ())[0][0])

    @overload
    def __getitem__(self, index: int) -> TrialRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[TrialRecord]: ...
    def __getitem__(self, index: int | slice) -> TrialRecord | list[TrialRecord]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._records("SELECT record FROM trials ORDER BY rowid LIMIT ? OFFSET ?", (max(0, stop - start), start))
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("trial index out of range")
        return self._records("SELECT record FROM trials ORDER BY rowid LIMIT 1 OFFSET ?", (i,))[0]

    def __repr__(self) -> str:
        return f"StoredTrials({str(self.folder)!r})"

    def _query(self, sql: str, args: tuple[int, ...]) -> list[tuple[str]]:
        db = _reader(self.folder)
        try:
            with _readable(self.folder):
                return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def _records(self, sql: str, args: tuple[int, ...]) -> list[TrialRecord]:
        with _readable(self.folder):
            return [TrialRecord.model_validate_json(r) for (r,) in self._query(sql, args)]


def _imported(folder: Path) -> bool:
    """Whether `folder`'s manifest is an imported run's (an unreadable one is not)."""
    try:
        return read_manifest(folder).imported is not None
    except (BadInput, StoreError):
        return False
