"""Nothing downstream reaches back upstream: the import graph of longhaul's modules, imports inside
functions included, has no cycle, and no module imports one of a higher layer.

The layers mirror docs/architecture.md. A module may import its own layer or any lower one.
Imports under `if TYPE_CHECKING:` never run: they count for the layers but not for cycles.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "longhaul"

LAYERS: list[tuple[str, ...]] = [
    # the data every part reads, and what a task is
    (
        "longhaul._version",
        "longhaul.errors",
        "longhaul.verdict",
        "longhaul.excerpt",
        "longhaul.outcome_style",
        "longhaul.stop_reasons",
        "longhaul.task",
        "longhaul.code_task",
        "longhaul.french",
        "longhaul.records",
        "longhaul.tokens",
        "longhaul.interval",
        "longhaul.sequence",
        "longhaul.shorten",
        "longhaul.task_listing",
        "longhaul.pricing",
    ),
    # answers into verdicts
    ("longhaul.verify",),
    # the simulated model: a server that knows tasks, never the clients or the engine
    ("longhaul.sim",),
    # models behind one streaming interface (the pool starts the in-process sim)
    ("longhaul.providers",),
    # one trial: the strategies' parts, the judge, the catalog of tasks and strategies, the suite,
    # and the display protocol the engine talks to
    (
        "longhaul.judgement",
        "longhaul.turn",
        "longhaul.stitching",
        "longhaul.strategy",
        "longhaul.ask",
        "longhaul.refusal_judge",
        "longhaul.trial",
        "longhaul.catalog",
        "longhaul.search",
        "longhaul.suite",
        "longhaul.display",
        "longhaul.display.protocol",
    ),
    # a run: its folder, the scheduler, and what reads a plan or a store without drawing it
    (
        "longhaul.shard",
        "longhaul.store",
        "longhaul.runner",
        "longhaul.batch",
        "longhaul.merge",
        "longhaul.importing",
        "longhaul.dryrun",
        "longhaul.model_limits",
        "longhaul.spend",
        "longhaul.export",
        "longhaul.summary",
    ),
    # what shows a run: reports and the displays
    ("longhaul.report", "longhaul.display.plain", "longhaul.display.live", "longhaul.tui"),
    # the command line and the public namespace
    ("longhaul.cli", "longhaul"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _layer(module: str) -> int:
    """The layer of a module: its own entry, else its package's (longest prefix wins)."""
    best, depth = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and name.count(".") > depth:
                best, depth = i, name.count(".")
    assert best is not None, f"{module} is in no layer: add it to LAYERS (and to docs/architecture.md)"
    return best


def _type_only_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """(imported longhaul module, type-only) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only_nodes(tree)
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import sub` imports the submodule; `from mod import name` the module.
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
        for target in targets:
            if target in modules and target != name:
                out.append((target, id(node) in type_only))
    return out


def _graph() -> dict[str, list[tuple[str, bool]]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
        for m, edges in _graph().items()
        for t, _ in edges
        if _layer(t) > _layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    graph = {m: sorted({t for t, type_only in edges if not type_only}) for m, edges in _graph().items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in graph.get(m, []):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (cycle := visit(t)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_the_layers_name_only_modules_that_exist():
    modules = _modules()
    missing = [n for names in LAYERS for n in names if n not in modules]
    assert not missing, missing
