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
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_tasks_lists_all_builtins():
    out = run("tasks").stdout
    for name in ("hanoi", "checker_jumping", "river_crossing", "blocks_world", "french_numbers", "count",
                 "kill_script", "sha256_digests"):
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


def test_refusals_jsonl(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"id": 7, "text": "I'm sorry, but I can't help with that."}) + "\n" + json.dumps({"id": 8, "text": "Sure: 1, 2, 3."}))
    rows = [json.loads(x) for x in run("refusals", "--jsonl", str(f), "--json").stdout.splitlines()]
    assert [(x["id"], x["refusal"]) for x in rows] == [(7, True), (8, False)]


@pytest.mark.parametrize(
    "args,needle",
    [(["prompt", "hanoi", "--param", "disks=99"], "disks"), (["prompt", "hanoi", "--param", "pegz=1"], "pegz"),
     (["prompt", "nosuch"], "known tasks"), (["verify", "hanoi", "--jsonl", "/nonexistent.jsonl"], "/nonexistent.jsonl"),
     (["budget", "count", "--max-tokens", "0"], "--max-tokens"), (["verify", "--stop-reason", "x", "hanoi", "-"], "stop-reason")],
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


def test_wheel_has_one_import_name_and_builtins_work_from_it(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr[-300:]}")
    wheel = next(tmp_path.glob("longhaul-*.whl"))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"longhaul"}
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True)
    # Run from elsewhere, with the wheel's copy first on the path: no checkout in sight.
    code = ("import longhaul, longhaul.registry as r; print(longhaul.__file__); print(r.builtin_dir('tasks'));"
            "print(sorted(r.load_tasks()))")
    env = {"PYTHONPATH": str(target), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    first, builtin, names = out.stdout.splitlines()
    assert first.startswith(str(target)) and builtin.startswith(str(target))
    assert "hanoi" in names and "french_numbers" in names
    # Built-in suites by name and strategies work from the wheel alone, as from a checkout.
    code = ("import longhaul; from longhaul.registry import load_strategies; p = longhaul.plan('demo');"
            "print(len(p.trials), sorted(load_strategies()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == str(len(__import__("longhaul").plan("demo").trials))
    assert "'continue'" in out.stdout and "'ranges'" in out.stdout
