"""The public API: what task and strategy files (ours and users') import, from `longhaul` only."""

from __future__ import annotations

import ast
from pathlib import Path

import longhaul

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_is_there():
    for name in longhaul.__all__:
        assert getattr(longhaul, name) is not None, name
    assert longhaul.run.__module__ == "longhaul.runner" and longhaul.Strategy.__module__ == "longhaul.strategy"


def test_task_and_strategy_files_import_only_the_public_namespace():
    files = [*ROOT.glob("tasks/*.py"), *ROOT.glob("agents/*.py"), *ROOT.glob("tests/fixtures/shout/*.py")]
    assert len(files) >= 10
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("longhaul"):
                if node.module != "longhaul":
                    bad.append(f"{path.relative_to(ROOT)}: from {node.module}")
                bad += [f"{path.relative_to(ROOT)}: {a.name} is not public" for a in node.names if a.name not in longhaul.__all__]
            elif isinstance(node, ast.Import) and any(a.name.startswith("longhaul.") for a in node.names):
                bad.append(f"{path.relative_to(ROOT)}: import {node.names[0].name}")
    assert not bad, bad


def test_the_package_is_typed():
    assert (ROOT / "longhaul" / "py.typed").is_file()
