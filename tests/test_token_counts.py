"""The tokens a complete answer needs, counted once: in memory, and in a cache file across processes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from longhaul import tokens
from longhaul.catalog import Catalog

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """A cache folder of this test's own, an empty memory, and a spy on the vocabulary: the
    encodings asked for (each is a load, in a new process)."""
    loads: list[str] = []
    real = tokens.encoding

    def spy(name: str = "o200k_base"):
        loads.append(name)
        return real(name)

    monkeypatch.setenv(tokens.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(tokens, "encoding", spy)
    forget()
    yield loads
    forget()


def forget() -> None:
    """What a new process knows: nothing in memory (the file stays)."""
    tokens.needed_tokens.cache_clear()
    tokens._source_digest.cache_clear()
    tokens._cache = None


def test_a_second_process_reads_the_count_and_never_loads_the_vocabulary(counted, tasks, tmp_path):
    task = tasks["count"]
    params = task.params({"end": 300})
    expected = len(tokens.encoding("o200k_base").encode(task.render(params)))
    counted.clear()
    assert tokens.needed_tokens(task, params, "sim/diligent") == expected
    assert counted == ["o200k_base"]
    assert tokens.needed_tokens(task, params, "openai/gpt-4o") == expected  # same tokenizer: from memory
    assert counted == ["o200k_base"]
    cached = json.loads((tmp_path / "cache" / tokens.COUNTS_FILE).read_text())
    assert list(cached["counts"].values()) == [expected]
    forget()
    assert tokens.needed_tokens(task, params, "sim/diligent") == expected
    assert counted == ["o200k_base"]  # no second load
    assert tokens.needed_tokens(task, task.params({"end": 301}), "sim/diligent") > expected  # other parameters: counted
    tokens.needed_tokens(task, params, "openai/gpt-4")  # another tokenizer: counted with it
    assert counted == ["o200k_base", "o200k_base", "cl100k_base"]


def test_an_edited_task_is_counted_again(counted, tmp_path):
    folder = tmp_path / "tasks"
    shutil.copytree(FIXTURES / "shout", folder)

    def needed() -> int:
        task = Catalog(folder).tasks["shout"]
        return tokens.needed_tokens(task, task.params({"end": 40}), "sim/diligent")

    first = needed()
    forget()
    assert needed() == first and len(counted) == 1
    # The same task, its file edited (the answer's format unchanged here: what counts is that it changed).
    path = folder / "shout.py"
    path.write_text(path.read_text() + "\n# edited\n")
    for name in [m for m in sys.modules if m.startswith("longhaul_user_shout_")]:
        del sys.modules[name]
    forget()
    assert needed() == first and len(counted) == 2
    assert len(json.loads((tmp_path / "cache" / tokens.COUNTS_FILE).read_text())["counts"]) == 2


def test_a_cache_that_cannot_be_written_is_skipped(monkeypatch, counted, tasks, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(tokens.CACHE_ENV, str(blocked / "cache"))  # mkdir fails, as root too
    task = tasks["count"]
    params = task.params({"end": 50})
    first = tokens.needed_tokens(task, params, "sim/diligent")
    forget()
    assert tokens.needed_tokens(task, params, "sim/diligent") == first and len(counted) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_damaged_cache_file_is_counted_again_and_replaced(counted, tasks, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / tokens.COUNTS_FILE).write_text("{not json")
    task = tasks["count"]
    n = tokens.needed_tokens(task, task.params({"end": 20}), "sim/diligent")
    assert list(json.loads((tmp_path / "cache" / tokens.COUNTS_FILE).read_text())["counts"].values()) == [n]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [tokens.COUNTS_FILE]  # no temporary file left


def test_the_cache_folder_follows_the_platform_rule(monkeypatch, tmp_path):
    monkeypatch.delenv(tokens.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert tokens.cache_dir() == tmp_path / "longhaul"
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # not installed: the XDG rule by hand
    assert tokens.cache_dir() == tmp_path / "longhaul"


def test_a_report_lets_go_of_the_vocabulary_once_its_counts_are_made(tmp_path, monkeypatch):
    import longhaul

    monkeypatch.setenv("LONGHAUL_CACHE_DIR", str(tmp_path / "cold"))  # nothing counted yet: the report loads o200k
    suite = tmp_path / "s.toml"
    suite.write_text('name = "s"\nmodels = ["sim/diligent"]\nstrategies = ["direct"]\n\n[[tasks]]\ntask = "count"\nend = [5, 6]\n')
    result = longhaul.run(str(suite), out=tmp_path / "run")
    from longhaul.report import write_report

    tokens.encoding()  # loaded, as the run's simulated model may leave it
    write_report(result.run_dir)
    assert tokens.encoding.cache_info().currsize == 0  # drawing the figures can reuse those 75 MB
    assert json.loads((result.run_dir / "results.json").read_text())["cells"][0]["needed_tokens"]
