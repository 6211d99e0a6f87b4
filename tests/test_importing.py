"""`longhaul import`: answers made elsewhere become a run that report, compare and export read.

The provider fixtures are written by hand from each provider's documented response shapes."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from longhaul.cli import main
from longhaul.importing.inspect_logs import answers_of
from longhaul.store import iter_trials, read_manifest

SOLVED = "moves = [[1, 0, 1], [2, 0, 2], [1, 1, 2]]"
"""The complete answer for two disks."""

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "hanoi-illusion" / "dev.jsonl"


def call(request: dict[str, Any], response: dict[str, Any], date: str = "Mon, 16 Jun 2025 10:00:00 GMT") -> dict[str, Any]:
    return {
        "request": {"headers": {"content-type": "application/json"}, "body": request},
        "response": {"headers": {"Date": date}, "body": response},
    }


def chat_request(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "temperature": 0.5,
        "max_tokens": 900,
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "two disks"}],
    }


CALLS: dict[str, dict[str, Any]] = {
    "chat.json": call(
        chat_request("gpt-4.1-2025-04-14"),
        {
            "object": "chat.completion",
            "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": SOLVED}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
        },
    ),
    # A Responses answer split over two message items, after a reasoning item with a summary.
    "responses.json": call(
        {"model": "o4-mini", "instructions": "sys", "input": [{"role": "user", "content": "two disks"}], "max_output_tokens": 800},
        {
            "object": "response",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "model": "o4-mini-2025-04-16",
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "recursive"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "moves = [[1, 0, 1], "}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "[2, 0, 2]"}]},
            ],
            "usage": {"input_tokens": 40, "output_tokens": 800, "output_tokens_details": {"reasoning_tokens": 700}},
        },
    ),
    "anthropic.json": call(
        {
            "model": "claude-3-7-sonnet-20250219",
            "max_tokens": 1000,
            "system": "sys",
            "messages": [{"role": "user", "content": "two disks"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "model": "claude-3-7-sonnet-20250219",
            "content": [{"type": "thinking", "thinking": "disk 1 first", "signature": "x"}, {"type": "text", "text": SOLVED}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 30, "output_tokens": 60},
        },
    ),
    "gemini.json.gz": call(
        {
            "systemInstruction": {"parts": [{"text": "sys"}]},
            "contents": [{"role": "user", "parts": [{"text": "two disks"}]}],
            "generationConfig": {"temperature": 0.1, "maxOutputTokens": 700, "thinkingConfig": {"includeThoughts": True}},
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "plan it", "thought": True}, {"text": "moves = [[2, 0, 2], [1, 0, 2]]"}],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {"promptTokenCount": 25, "candidatesTokenCount": 15, "thoughtsTokenCount": 100},
            "modelVersion": "gemini-2.5-pro-preview-06-05",
        },
    ),
    "deepseek.json": call(
        chat_request("deepseek-reasoner") | {"model": "deepseek-reasoner"},
        {
            "object": "chat.completion",
            "model": "deepseek-reasoner",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": SOLVED, "reasoning_content": "think hard"},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 900, "completion_tokens_details": {"reasoning_tokens": 880}},
        },
    ),
    "sonar.json.gz": call(
        chat_request("sonar-reasoning-pro"),
        {
            "object": "chat.completion",
            "model": "sonar-reasoning-pro",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "<think>short</think>\n\n" + SOLVED}, "finish_reason": "stop"}
            ],
        },
    ),
}


def write_calls(folder: Path) -> None:
    folder.mkdir()
    for name, record in CALLS.items():
        data = json.dumps(record).encode()
        (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    (folder / "broken.json").write_text('{"request": ')
    (folder / "shapeless.json").write_text(json.dumps(call({"model": "x"}, {"hello": 1})))


def trials(run: Path) -> dict[str, Any]:
    return {t.spec.model: t for t in iter_trials(run)}


def test_a_folder_of_raw_calls_is_read_by_shape_gzipped_or_not_and_bad_files_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_calls(tmp_path / "calls")
    run = tmp_path / "run"
    assert main(["import", "raw", str(tmp_path / "calls"), "--task", "hanoi", "--param", "disks=2", "--out", str(run)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "broken.json: not JSON" in err[0]
    assert "shapeless.json" in err[1] and "none of the known response shapes" in err[1]
    got = trials(run)
    assert sorted(got) == [
        "anthropic/claude-3-7-sonnet-20250219",
        "openai-api/compatible/deepseek-reasoner",
        "openai-api/compatible/sonar-reasoning-pro",
        "openai-api/gemini/gemini-2.5-pro-preview-06-05",
        "openai/gpt-4.1-2025-04-14",
        "openai/o4-mini",
    ]
    outcomes = {m: t.outcome for m, t in got.items()}
    assert outcomes["openai/gpt-4.1-2025-04-14"] == "complete"
    assert outcomes["openai/o4-mini"] == "budget_exhausted"  # both message items read: two right moves, then the limit
    assert got["openai/o4-mini"].turns[0].answer == "moves = [[1, 0, 1], [2, 0, 2]"
    assert got["openai/o4-mini"].turns[0].thinking == "recursive"
    assert got["openai/o4-mini"].reasoning_tokens == 700
    assert got["anthropic/claude-3-7-sonnet-20250219"].turns[0].thinking == "disk 1 first"
    assert outcomes["openai-api/gemini/gemini-2.5-pro-preview-06-05"] == "cant_do"
    gemini = got["openai-api/gemini/gemini-2.5-pro-preview-06-05"]
    assert (gemini.turns[0].thinking, gemini.output_tokens, gemini.reasoning_tokens) == ("plan it", 115, 100)
    assert got["openai-api/compatible/deepseek-reasoner"].turns[0].thinking == "think hard"
    assert got["openai-api/compatible/deepseek-reasoner"].turns[0].stop_reason == "max_tokens"
    sonar = got["openai-api/compatible/sonar-reasoning-pro"]
    assert (sonar.turns[0].thinking, sonar.outcome) == ("short", "complete")
    assert got["openai/gpt-4.1-2025-04-14"].started_at.isoformat() == "2025-06-16T10:00:00+00:00"
    manifest = read_manifest(run)
    assert manifest.imported is not None and (manifest.imported.records, manifest.imported.skipped) == (6, 2)
    assert manifest.suite.strategies == ["imported"] and manifest.suite.max_tokens == 1000
    assert main(["report", str(run)]) == 0
    assert main(["export", str(run)]) == 0
    assert main(["compare", str(run), str(run)]) == 0


def test_a_named_format_reads_its_own_shape(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(CALLS["responses.json"]))
    assert main(["import", "openai-responses", str(path), "--task", "hanoi", "--param", "disks=2", "--out", str(tmp_path / "run")]) == 0
    (t,) = trials(tmp_path / "run").values()
    assert (t.turns[0].stop_reason, t.turns[0].raw_stop_reason) == ("max_tokens", "max_output_tokens")


def test_params_come_from_the_prompt_and_a_record_that_fails_them_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        {"text": SOLVED, "model": "m", "user": "I have a puzzle with 2 disks"},
        {"text": SOLVED, "model": "m", "user": "no size here"},
        {"text": 5, "model": "m"},
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    args = [
        "import",
        "jsonl",
        str(tmp_path / "a.jsonl"),
        "--task",
        "hanoi",
        "--param-from",
        r"disks=with (\d+) disks",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert [e.split(": ")[1].rsplit(":", 1)[-1] for e in err] == ["2", "3", "4"]
    (t,) = trials(tmp_path / "r").values()
    assert (t.spec.model, t.spec.params["disks"], t.outcome) == ("openai-api/imported/m", 2, "complete")


def test_nothing_readable_makes_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jsonl").write_text("{}\n")
    assert main(["import", "jsonl", str(tmp_path / "a.jsonl"), "--task", "hanoi", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


def test_an_imported_run_is_not_resumed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"text": SOLVED, "model": "openai/gpt-4.1", "params": {"disks": 2}}) + "\n")
    assert main(["import", "jsonl", str(tmp_path / "a.jsonl"), "--task", "hanoi", "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["resume", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "imported run" in err and "nothing to resume" in err
    # Importing (or running) into it again does not point to that refused resume either.
    assert main(["import", "jsonl", str(tmp_path / "a.jsonl"), "--task", "hanoi", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds an imported run; choose another --out" in err and "longhaul resume" not in err


def test_inspect_logs_map_each_sample_to_an_answer() -> None:
    part = SimpleNamespace
    output = part(
        model=None,
        stop_reason="model_length",
        usage=part(input_tokens=10, output_tokens=20, reasoning_tokens=5),
        choices=[
            part(
                stop_reason="model_length", message=part(content=[part(type="reasoning", reasoning="hmm"), part(type="text", text=SOLVED)])
            )
        ],
    )
    log = part(
        eval=part(model="google/gemini-2.5-pro", model_generate_config=part(temperature=0.2, max_tokens=500)),
        samples=[
            part(id=1, epoch=1, output=output, input="two disks", metadata={"params": {"disks": 2}}),
            part(id=2, epoch=1, output=None, input="x"),
        ],
    )
    first, second = list(answers_of(log, "x.eval"))
    assert not isinstance(first, Exception)
    assert (first.model, first.text, first.thinking, first.stop_reason, first.params) == (
        "openai-api/google/gemini-2.5-pro",
        SOLVED,
        "hmm",
        "max_tokens",
        {"disks": 2},
    )
    assert isinstance(second, Exception) and "x.eval: sample 2" in str(second)


def test_inspect_without_inspect_ai_says_so_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pytest")
    try:
        import inspect_ai  # noqa: F401

        pytest.skip("inspect_ai is installed")
    except ImportError:
        pass
    (tmp_path / "a.eval").write_bytes(b"")
    assert main(["import", "inspect", str(tmp_path / "a.eval"), "--task", "hanoi", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "inspect_ai is not installed" in err


EXPERIMENT_FORMAT = {"hanoi-base": "list", "hanoi-adj": "list", "hanoi-csv": "csv", "hanoi-trck": "csv"}


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_file(), reason="the shared corpora (../shared/corpora) are not here")
def test_the_dev_corpus_imports_with_the_counts_verify_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The corpus gives N and the experiment, not longhaul's params: both sides read the same lines with them added.
    source = tmp_path / "dev.jsonl"
    with CORPUS.open(encoding="utf-8") as f, source.open("w", encoding="utf-8") as out:
        for line in f:
            r = json.loads(line)
            out.write(json.dumps(r | {"params": {"disks": r["n"], "format": EXPERIMENT_FORMAT[r["experiment"]]}}) + "\n")
    assert main(["verify", "hanoi", "--jsonl", str(source), "--json"]) == 0
    # The report's cells are (model, task, size, strategy): the four experiments of one size share one.
    expected: Counter[tuple[str, int, str]] = Counter()
    for line in capsys.readouterr().out.splitlines():
        v = json.loads(line)
        expected[(v["model"], v["n"], v["verdict"]["outcome"])] += 1
    run = tmp_path / "run"
    assert main(["import", "jsonl", str(source), "--task", "hanoi", "--out", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    results = json.loads((run / "results.json").read_text())
    got: Counter[tuple[str, int, str]] = Counter()
    for cell in results["cells"]:
        for outcome, share in cell["outcomes"].items():
            if share["count"]:
                got[(cell["model"].rsplit("/", 1)[-1], cell["size"], outcome)] += share["count"]
    assert sum(got.values()) == 1080
    assert got == expected


@pytest.mark.skipif(not CORPUS.is_file(), reason="the shared corpora (../shared/corpora) are not here")
def test_without_params_the_task_reads_the_size_from_the_prompt_and_a_record_without_one_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Corpus lines as they are (no params): hanoi's `recognise` reads the disks in each prompt, never the default 3.
    lines = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    picked = [next(r for r in lines if r["n"] == n) for n in (5, 10, 14)]
    source = tmp_path / "a.jsonl"
    with source.open("w") as out:
        for r in picked:
            out.write(json.dumps({"text": r["text"], "model": "anthropic/m", "system": r["system"], "user": r["user"]}) + "\n")
        out.write(json.dumps({"text": SOLVED, "model": "anthropic/m", "user": "two disks"}) + "\n")  # nothing gives its size
    run = tmp_path / "run"
    assert main(["import", "jsonl", str(source), "--task", "hanoi", "--out", str(run)]) == 0
    assert sorted(t.spec.params["disks"] for t in iter_trials(run)) == [5, 10, 14]
    [bad] = [line for line in capsys.readouterr().err.splitlines() if "no disks" in line]
    assert f"{source}:4" in bad and "--param disks=N or --param-from 'disks=REGEX'" in bad
    # --param still wins over what the prompt says.
    assert main(["import", "jsonl", str(source), "--task", "hanoi", "--param", "disks=2", "--out", str(tmp_path / "two")]) == 0
    assert {t.spec.params["disks"] for t in iter_trials(tmp_path / "two")} == {2}
