"""`longhaul ask`, `longhaul sim serve` and `longhaul sim profiles`, as a user runs them."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys

import openai
import pytest

from longhaul.ask import _Echo, summary_line
from longhaul.providers import Completion, Usage
from longhaul.sim.profiles import PROFILES, Profile


def cli(*args: str, env=None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, env={**base, **(env or {})})


def test_profiles_are_listed_one_line_each():
    out = cli("sim", "profiles").stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip() and line.split()[0] in PROFILES}
    assert set(lines) == set(PROFILES)
    assert "simulations" in out and "api=responses" in out  # the sim over OpenAI's Responses API, without a key


def test_profiles_list_every_common_parameter_from_the_model():
    out = cli("sim", "profiles").stdout
    common = out.split("Every profile also takes", 1)[1].splitlines()
    listed = {line.split("=")[0].strip() for line in common if line.startswith("  ")}
    assert listed == set(Profile.model_fields)  # generated: a new field is listed, with its default
    assert any(line.split()[0] == "cache_min=1024" for line in common if line.strip())
    assert any("max_output=none" in line and "output limit" in line for line in common)


@pytest.mark.slow
def test_ask_streams_verifies_and_sets_the_exit_code():
    good = cli("ask", "sim/diligent", "count", "--param", "end=25")
    assert good.returncode == 0, good.stderr
    assert "\n25\n" in good.stdout and "(simulated)" in good.stdout and "complete:" in good.stdout
    lazy = cli("ask", "sim/lazy?k=3", "count", "--param", "end=25")
    assert lazy.returncode == 1 and "wont_do:" in lazy.stdout
    as_json = json.loads(cli("ask", "sim/truncating?limit=20", "hanoi", "--param", "disks=5", "--json").stdout)
    assert as_json["completion"]["simulated"] is True
    assert as_json["completion"]["usage"]["output_tokens"] == 20
    assert as_json["verdict"]["outcome"] == "budget_exhausted"


@pytest.mark.parametrize(
    "args,needle",
    [
        (["ask", "openai/gpt-4.1", "count"], "OPENAI_API_KEY"),
        (["ask", "openai-responses/o4-mini", "count"], "OPENAI_API_KEY"),
        (["ask", "anthropic/claude-sonnet-4-5", "count"], "ANTHROPIC_API_KEY"),
        (["ask", "openai-api/vllm/llama", "count"], "VLLM_BASE_URL"),
        (["ask", "sim/nosuch", "count"], "known profiles"),
        (["ask", "sim/lazy?k=x", "count"], "k:"),
        (["ask", "gpt-4.1", "count"], "provider/model"),
    ],
)
def test_bad_models_are_one_line_errors_with_exit_2(args, needle):
    r = cli(*args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1 and r.stdout == ""


def test_base_url_flag_reaches_an_openai_compatible_server():
    # The sim itself is an OpenAI-compatible server: serve it, then address it as openai-api/...
    proc = subprocess.Popen([sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split(" ")[0]
        r = cli("ask", "openai-api/local/diligent", "count", "--param", "end=12", "--base-url", url, env={"LOCAL_API_KEY": "none"})
        # Addressed as a real server, it still answers as a simulation, and is labelled one.
        assert r.returncode == 0 and "complete:" in r.stdout and "(simulated)" in r.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_sim_serve_speaks_to_the_openai_sdk_and_stops_cleanly():
    proc = subprocess.Popen(
        [sys.executable, "-m", "longhaul.cli", "sim", "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line
        url = line.split(" at ")[1].split(" ")[0]
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        assert "lazy" in [m.id for m in client.models.list().data]
        reply = client.chat.completions.create(
            model="lazy?k=3",
            messages=[{"role": "user", "content": "Print every integer from 1 to 10, one per line, with nothing else on the line."}],
        )
        assert reply.choices[0].message.content.count("\n") >= 3
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_sim_serve_on_a_taken_port_is_exit_2():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = cli("sim", "serve", "--port", str(s.getsockname()[1]))
    assert r.returncode == 2 and "--host/--port" in r.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_ask_echoes_thinking_apart_from_the_answer(terminal, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Terminal() if terminal else io.StringIO()
    echo = _Echo(out)
    for kind, text in [("thinking", "Let me "), ("thinking", "count."), ("text", "1\n"), ("text", "2\n")]:
        echo.delta(kind, text)
    dim = "\x1b[2m"
    assert out.getvalue() == (
        f"--- thinking ---\n{dim}Let me \x1b[0m{dim}count.\x1b[0m\n--- answer ---\n1\n2\n"
        if terminal
        else "--- thinking ---\nLet me count.\n--- answer ---\n1\n2\n"
    )
    plain = io.StringIO()
    _Echo(plain).delta("text", "1\n")  # no thinking: the answer as it is, no headings
    assert plain.getvalue() == "1\n"


def test_ask_summary_line_gives_thinking_and_cached_tokens_where_reported():
    def line(**usage: int | None) -> str:
        return summary_line(Completion(model="m", answer="", stop_reason="end_turn", raw_stop_reason="stop", usage=Usage(**usage)))

    assert "1,200 in (1,024 cached) / 600 out (315 thinking)," in line(
        input_tokens=1200, cached_input_tokens=1024, output_tokens=600, reasoning_tokens=315
    )
    assert "1,200 in / 600 out," in line(input_tokens=1200, output_tokens=600, reasoning_tokens=None)  # Anthropic reports none
    assert "1,200 in / 600 out," in line(input_tokens=1200, output_tokens=600, reasoning_tokens=0)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["sim/diligent?api=responses", "sim/diligent"])
def test_ask_shows_the_thinking_and_its_tokens(model):
    r = cli("ask", model, "hanoi", "--param", "disks=3", "--thinking-budget", "1000")
    assert r.returncode == 0, r.stderr
    thinking, _, rest = r.stdout.partition("--- answer ---\n")
    assert thinking.startswith("--- thinking ---\n") and "Let me work through it" in thinking
    answer, _, summary = rest.partition("\n--- ")
    assert "Let me" not in answer and "moves = " in answer
    assert re.search(r"\d+ in / \d+ out \(\d+ thinking\)", summary), summary
