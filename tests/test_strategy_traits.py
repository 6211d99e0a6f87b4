"""Strategies are read by their traits, never their names: a user's own strategy that follows up
counts in refusal elasticity, and one whose conversation grows is estimated so by the dry run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_runs import cli, small

from longhaul.catalog import Catalog
from longhaul.errors import BadInput
from longhaul.strategy import Strategy, follow_up_graph, say_continue

# As agents/continue.py, under another name, declaring its traits; its graph compiled as the module
# loads, as strategies were written before they were given a builder (still taken).
CARRY_ON = """
from longhaul.strategy import Strategy, follow_up_graph, say_continue

STRATEGY = Strategy(
    "carry-on", "say 'continue' with the whole conversation, under my own name",
    follow_up_graph("continue", say_continue).compile(),
    follows_up=True, grows_conversation=True,
)
"""

# The same loop, declaring nothing: longhaul assumes nothing of it.
SILENT = CARRY_ON.replace('"carry-on"', '"silent"').replace("    follows_up=True, grows_conversation=True,\n", "")


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "carry_on.py").write_text(CARRY_ON)
    (folder / "silent.py").write_text(SILENT)
    return folder


def test_the_built_in_strategies_declare_their_traits():
    traits = {name: (s.follows_up, s.grows_conversation, s.single_turn) for name, s in Catalog().strategies.items()}
    assert traits == {
        "direct": (False, False, True),
        "continue": (True, True, False),
        "resume": (True, False, False),
        "nudge": (True, True, False),
        "ranges": (False, False, False),
    }


def test_a_single_turn_strategy_cannot_follow_up():
    with pytest.raises(BadInput, match="single-turn"):
        Strategy("odd", "x", follow_up_graph("continue", say_continue).compile(), single_turn=True, follows_up=True)


def test_a_strategy_without_a_graph_declares_it_takes_one_turn():
    with pytest.raises(BadInput, match="single_turn=True"):
        Strategy("odd", "x")
    with pytest.raises(BadInput, match="must be a function"):
        Strategy("odd", "x", "continue")
    assert Strategy("once", "x", None, single_turn=True).compiled is None


# Shaped like agents/continue.py, counting the calls of its builder and of the compile.
COUNTED = """
from longhaul import Strategy, follow_up_graph, say_continue

BUILT = []


def build():
    graph = follow_up_graph("continue", say_continue)
    compile = graph.compile
    graph.compile = lambda: BUILT.append("compiled") or compile()
    BUILT.append("built")
    return graph


STRATEGY = Strategy("counted", "as continue, counting its compiles", build, follows_up=True, grows_conversation=True)
"""


def test_a_strategys_graph_is_built_and_compiled_once_when_its_first_trial_runs(tmp_path):
    import longhaul

    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "counted.py").write_text(COUNTED)
    path = small(tmp_path, ["sim/lazy?k=4"], ["counted"], "count", "end = [10, 20]", samples=3)
    strategy = Catalog(agents_dir=folder).strategy("counted")
    built = _module_of(strategy).BUILT
    assert built == []  # loading the strategy builds nothing
    first = longhaul.run(path, agents_dir=folder, out=tmp_path / "one")
    assert len(first.trials) == 6 and all(len(t.turns) > 1 for t in first.trials)  # every trial went round the loop
    assert built == ["built", "compiled"]
    graph = strategy.compiled
    longhaul.run(path, agents_dir=folder, out=tmp_path / "two")  # another run, another catalog: the same module
    assert built == ["built", "compiled"] and strategy.compiled is graph


def _module_of(strategy: Strategy):
    return next(m for m in list(sys.modules.values()) if getattr(m, "STRATEGY", None) is strategy)


@pytest.mark.slow
def test_a_users_strategy_that_follows_up_counts_in_refusal_elasticity(tmp_path, agents):
    path = small(tmp_path, ["sim/lazy?k=15"], ["direct", "carry-on", "silent"], "french_numbers", "start = 0\nend = 60")
    r = cli("run", str(path), "--out", str(tmp_path / "run"), "--plain", "--agents-dir", str(agents))
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    outcomes = {c["strategy"]: c["outcomes"]["complete"]["count"] for c in results["cells"]}
    assert outcomes == {"direct": 0, "carry-on": 1, "silent": 1}  # both loops finish; only one says it follows up
    assert results["follow_up_strategies"] == ["carry-on"]
    [model] = results["models"]
    assert (model["elasticity"]["count"], model["elasticity"]["of"]) == (1, 1)
    [cell] = results["elasticity"]
    assert cell["strategy"] == "carry-on" and cell["first_turn_wont_do"] == 1 and cell["became_complete"]["count"] == 1
    assert cell["direct_wont_do"]["share"] == 1.0
    assert "complete under carry-on" in (tmp_path / "run" / "summary.md").read_text()
    # `longhaul report` reads the same traits when told where the strategies are
    r = cli("report", str(tmp_path / "run"), "--out", str(tmp_path / "again"), "--agents-dir", str(agents))
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["models"][0]["elasticity"]["count"] == 1


def _input_cost(stdout: str, strategy: str) -> float:
    [row] = [line for line in stdout.splitlines() if line.startswith(f"| openai/gpt-4.1 | count | 200 | {strategy} |")]
    return float(row.rstrip(" |").rsplit("|", 1)[1])


def test_the_dry_run_estimates_a_growing_conversation_by_its_trait(tmp_path, agents):
    path = small(tmp_path, ["openai/gpt-4.1"], ["continue", "resume", "carry-on", "silent", "direct"], "count", "end = 200")
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai/gpt-4.1"]\ninput = 1.0\noutput = 0.0\n')  # the cost is the input estimate
    r = cli("run", str(path), "--dry-run", "--prices", str(prices), "--agents-dir", str(agents))
    assert r.returncode == 0, r.stderr
    cost = {s: _input_cost(r.stdout, s) for s in ("continue", "resume", "carry-on", "silent", "direct")}
    assert cost["carry-on"] == cost["continue"] > cost["resume"]
    assert cost["silent"] == cost["resume"]  # declares no growth: estimated as fresh requests
    assert cost["direct"] < cost["resume"]
