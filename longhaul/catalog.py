"""The tasks and strategies a run can use, resolved once and handed to every part that needs them.

Built-ins live at the top of a checkout (`tasks/`, `agents/`) and inside the installed wheel
(`longhaul/_builtin/`). Either way they are loaded by path, as a user's own folder is, so that a
task module needs no import name of its own and a user's task is shaped exactly like ours.

A `Catalog` is made once (from the command line's `--tasks-dir` and `--agents-dir`, or from a run's
manifest) and then carried by the plan and the run: the runner, the dry run, the simulated model,
the reports and the terminal UI all read the same one, so none of them can silently fall back to
the built-ins and lose a user's task. Its folders are checked when it is made; the modules are
loaded the first time they are asked for (listing tasks need not load the strategies' graphs).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from longhaul.errors import BadInput
from longhaul.strategy import Strategy
from longhaul.task import Task

_PACKAGE = Path(__file__).resolve().parent


class CatalogSource(BaseModel):
    """Where a catalog was resolved from: recorded in a run's manifest, so that reading the run
    again (report, resume, the terminal UI, compare) uses the same tasks and strategies."""

    tasks_dir: str | None = None
    """The user's folder of task modules (`--tasks-dir`), as an absolute path; None: built-ins only."""

    agents_dir: str | None = None
    """The user's folder of strategy modules (`--agents-dir`), as an absolute path; None: built-ins only."""


def builtin_dir(kind: str) -> Path:
    """The folder of built-in `tasks` or `agents`: inside the wheel, else the checkout's."""
    installed = _PACKAGE / "_builtin" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind


def _load_module(path: Path) -> ModuleType:
    """Import one file by path, under a name derived from its path (so two folders may both have
    a `count.py`). Modules are cached in `sys.modules`, so loading twice is free."""
    path = path.resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"longhaul_user_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def _module_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def _folder(value: Path | str | None, flag: str) -> Path | None:
    if value is None:
        return None
    folder = Path(value)
    if not folder.is_dir():
        raise BadInput(f"{flag}: {folder} is not a folder")
    return folder.resolve()


class Catalog:
    """The tasks and strategies by name: the built-ins, then a user's folders (whose modules may
    replace a built-in of the same name)."""

    def __init__(self, tasks_dir: Path | str | None = None, agents_dir: Path | str | None = None) -> None:
        """A missing folder is a one-line `BadInput` naming the flag and the folder."""
        self.tasks_dir = _folder(tasks_dir, "--tasks-dir")
        self.agents_dir = _folder(agents_dir, "--agents-dir")
        self._gone: dict[str, str] = {}  # kind -> the error to raise when a run's recorded folder is asked for

    @classmethod
    def of_run(
        cls, run_dir: Path, source: CatalogSource, tasks_dir: Path | str | None = None, agents_dir: Path | str | None = None
    ) -> Catalog:
        """The catalog a run was made with (its manifest's `source`), unless the caller names other
        folders to use instead. A recorded folder that has gone is one line naming it and the flag
        that replaces it, raised when its kind is first asked for: a report needs no strategies."""
        catalog = cls(tasks_dir, agents_dir)
        for kind, given, recorded, flag in (
            ("tasks", tasks_dir, source.tasks_dir, "--tasks-dir"),
            ("agents", agents_dir, source.agents_dir, "--agents-dir"),
        ):
            if given is not None or recorded is None:
                continue
            if Path(recorded).is_dir():
                setattr(catalog, f"{kind}_dir", Path(recorded))
            else:
                catalog._gone[kind] = (
                    f"{run_dir}: this run was made with {flag} {recorded}, which is no longer a folder; "
                    f"give {flag} to say where those modules are now"
                )
        return catalog

    @property
    def source(self) -> CatalogSource:
        """The folders this catalog was resolved from, for a run's manifest (a gone folder is not one)."""
        return CatalogSource(
            tasks_dir=str(self.tasks_dir) if self.tasks_dir else None, agents_dir=str(self.agents_dir) if self.agents_dir else None
        )

    @cached_property
    def tasks(self) -> dict[str, Task[Any]]:
        """Every task by name."""
        return {t.name: t for t in self._modules("tasks", self.tasks_dir, "TASK") if isinstance(t, Task)}

    @cached_property
    def strategies(self) -> dict[str, Strategy]:
        """Every strategy by name."""
        return {s.name: s for s in self._modules("agents", self.agents_dir, "STRATEGY") if isinstance(s, Strategy)}

    def _modules(self, kind: str, folder: Path | None, name: str) -> list[object]:
        """What `name` is bound to in the built-in modules of `kind`, then in `folder`'s (a user's
        task or strategy of the same name comes later, so it replaces the built-in)."""
        if kind in self._gone:
            raise BadInput(self._gone[kind])
        found = []
        for place in [builtin_dir(kind), *([folder] if folder else [])]:
            for path in _module_files(place):
                found.append(getattr(_load_module(path), name, None))
        return found

    def task(self, name: str) -> Task[Any]:
        """One task by name; an unknown name is a `BadInput` listing the known ones."""
        try:
            return self.tasks[name]
        except KeyError:
            raise BadInput(f"unknown task {name!r}; known tasks: {', '.join(sorted(self.tasks))}") from None

    def strategy(self, name: str) -> Strategy:
        """One strategy by name; an unknown name is a `BadInput` listing the known ones."""
        try:
            return self.strategies[name]
        except KeyError:
            raise BadInput(f"unknown strategy {name!r}; known strategies: {', '.join(sorted(self.strategies))}") from None

    def __repr__(self) -> str:
        return f"Catalog(tasks_dir={self.tasks_dir}, agents_dir={self.agents_dir})"
