"""Finds tasks (and, later, strategies) by name: the built-in ones and a user's `--tasks-dir`.

Built-ins live at the top of a checkout (`tasks/`, `agents/`) and inside the installed wheel
(`longhaul/_builtin/`). Either way they are loaded by path, as a user's own folder is, so that a
task module needs no import name of its own and a user's task is shaped exactly like ours.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from longhaul.errors import BadInput
from longhaul.task import Task

_PACKAGE = Path(__file__).resolve().parent


def builtin_dir(kind: str) -> Path:
    """The folder of built-in `tasks` or `agents`: inside the wheel, else the checkout's."""
    installed = _PACKAGE / "_builtin" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind


def load_module(path: Path) -> ModuleType:
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


def load_tasks(tasks_dir: Path | str | None = None) -> dict[str, Task]:
    """All tasks by name: built-ins, then those of `tasks_dir` (which may replace a built-in)."""
    folders = [builtin_dir("tasks")]
    if tasks_dir is not None:
        extra = Path(tasks_dir)
        if not extra.is_dir():
            raise BadInput(f"--tasks-dir: {extra} is not a folder")
        folders.append(extra)
    tasks: dict[str, Task] = {}
    for folder in folders:
        for path in _module_files(folder):
            task = getattr(load_module(path), "TASK", None)
            if isinstance(task, Task):
                tasks[task.name] = task
    return tasks


def load_strategies(agents_dir: Path | str | None = None) -> dict[str, Any]:
    """All strategies by name: built-ins (`agents/`), then those of `agents_dir`."""
    from longhaul.strategy import Strategy

    folders = [builtin_dir("agents")]
    if agents_dir is not None:
        extra = Path(agents_dir)
        if not extra.is_dir():
            raise BadInput(f"--agents-dir: {extra} is not a folder")
        folders.append(extra)
    strategies: dict[str, Strategy] = {}
    for folder in folders:
        for path in _module_files(folder):
            strategy = getattr(load_module(path), "STRATEGY", None)
            if isinstance(strategy, Strategy):
                strategies[strategy.name] = strategy
    return strategies


def get_task(name: str, tasks_dir: Path | str | None = None) -> Task:
    """One task by name; an unknown name is a `BadInput` listing the known ones."""
    tasks = load_tasks(tasks_dir)
    try:
        return tasks[name]
    except KeyError:
        raise BadInput(f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}") from None
