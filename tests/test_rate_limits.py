"""Rate limits per model: requests and tokens per minute, kept client-side on every request
(retries included), shared by the trials of one model and not across models; written in a suite or
as flags; shown by the live views. Time is virtual: it moves only when every request let through
has been answered, so each request is stamped with the minute it was let through in."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from longhaul.errors import BadInput
from longhaul.providers import Message, Providers, Request
from longhaul.providers.ratelimit import RateLimiter, RateLimits
from longhaul.suite import differences, parse_suite

ROOT = Path(__file__).resolve().parent.parent


class VirtualTime:
    """A clock and a sleep for the limiters. A sleep moves the clock only once every request let
    through so far has been answered: an answer is stamped with the time it was let through."""

    def __init__(self) -> None:
        self.now = 0.0
        self.answered = 0
        self.providers: Providers | None = None
        self._changed = asyncio.Condition()

    def clock(self) -> float:
        return self.now

    def admitted(self) -> int:
        assert self.providers is not None
        return sum(r.admitted for r in self.providers.rates())

    async def sleep(self, seconds: float) -> None:
        start = self.now
        async with self._changed:
            await self._changed.wait_for(lambda: self.answered >= self.admitted())
        self.now = max(self.now, start + seconds)

    async def answer(self) -> None:
        async with self._changed:
            self.answered += 1
            self._changed.notify_all()


def request_for(tasks, end: int = 20, max_tokens: int = 16_384) -> Request:
    t = tasks["count"]
    return Request(messages=[Message(role="user", content=t.prompt(t.params({"end": end})).user)], max_tokens=max_tokens)


async def send(providers: Providers, model: str, request: Request, vt: VirtualTime, log: list[tuple[str, float, int]]) -> None:
    provider = await providers.get(model)  # each call as a trial makes it: the pool's shared provider
    completion = None
    async for event in provider.stream(request):
        completion = event
    assert completion is not None and completion.answer
    log.append((model, vt.now, completion.usage.input_tokens + completion.usage.output_tokens))
    await vt.answer()


def run_requests(tasks, limits: dict[str, RateLimits], jobs: list[str], request: Request) -> tuple[list[tuple[str, float, int]], int]:
    """Send one request per entry of `jobs` (a model each), all at once; (model, time, tokens) as
    answered, and the requests the sim received."""
    vt = VirtualTime()
    log: list[tuple[str, float, int]] = []

    async def go() -> int:
        async with Providers(tasks=tasks, limits=limits, clock=vt.clock, sleep=vt.sleep) as providers:
            vt.providers = providers
            await asyncio.gather(*(send(providers, m, request, vt, log) for m in jobs))
            assert providers._sim is not None
            return providers._sim.server.requests

    return log, asyncio.run(go())


def worst_minute(times: list[tuple[float, int]]) -> int:
    """The most any window [t, t + 60) holds (the worst windows start at a stamp)."""
    return max(sum(n for u, n in times if t <= u < t + 60) for t, _ in times)


def test_rpm_spaces_requests_so_no_minute_holds_more(tasks):
    model = "sim/diligent?speed=5000"
    log, arrived = run_requests(tasks, {model: RateLimits(rpm=3)}, [model] * 10, request_for(tasks))
    assert arrived == 10
    stamps = sorted(t for _, t, _ in log)
    assert worst_minute([(t, 1) for t in stamps]) == 3
    assert stamps == [0, 0, 0, 60, 60, 60, 120, 120, 120, 180]  # as fast as the limit allows, no faster


def test_the_limit_is_shared_by_one_models_trials_and_not_across_models(tasks):
    a, b = "sim/diligent?speed=5000", "sim/diligent?speed=4000"
    log, _ = run_requests(tasks, {a: RateLimits(rpm=2), b: RateLimits(rpm=2)}, [a, b] * 4, request_for(tasks))
    for model in (a, b):
        assert sorted(t for m, t, _ in log if m == model) == [0, 0, 60, 60]


def test_tpm_counts_what_requests_use_and_gives_back_what_they_reserved(tasks):
    model = "sim/diligent?speed=5000"
    request = request_for(tasks, end=20, max_tokens=1000)
    log, _ = run_requests(tasks, {model: RateLimits(tpm=1500)}, [model] * 8, request)
    used = [(t, n) for _, t, n in log]
    assert worst_minute(used) <= 1500
    per_minute = Counter(t for t, _ in used)
    # A request reserves its input and its max_tokens (over 1000 here, so two never fit at once);
    # each gives back what it did not use when it ends, so more than one goes in a minute.
    assert per_minute[0] > 1
    assert len(per_minute) > 1  # and the rest had to wait for a later minute


def test_a_reservation_larger_than_the_limit_waits_for_an_empty_minute_instead_of_never_going():
    vt = VirtualTime()

    async def go() -> list[float]:
        limiter = RateLimiter("m", RateLimits(tpm=100), clock=vt.clock, sleep=sleep)
        stamps = []
        for _ in range(3):
            permit = await limiter.acquire(500)
            stamps.append(vt.now)
            permit.settle(500)
        return stamps

    async def sleep(seconds: float) -> None:
        vt.now += seconds

    assert asyncio.run(go()) == [0, 60, 120]


def test_every_attempt_counts_retries_included(tasks):
    model = "sim/diligent?speed=5000&faults=500:0.5&seed=2"
    request = request_for(tasks)

    async def instantly(seconds: float) -> None:  # the retries' backoff; the limit never waits here
        pass

    async def go() -> tuple[int, int, int]:
        async with Providers(tasks=tasks, limits={model: RateLimits(rpm=1000)}, sleep=instantly) as providers:
            provider = await providers.get(model)
            completions = [await final(provider, request) for _ in range(4)]
            assert providers._sim is not None
            (status,) = providers.rates()
            return sum(c.attempts for c in completions), providers._sim.server.requests, status.admitted

    attempts, arrived, admitted = asyncio.run(go())
    assert attempts > 4  # some attempts failed and were retried
    assert admitted == arrived == attempts


async def final(provider, request):
    async for event in provider.stream(request):
        completion = event
    return completion


# -- the suite, the flags ---------------------------------------------------------------------------

SUITE = """name = "limited"
models = ["sim/diligent", "sim/lazy?k=5"]

[limits."sim/diligent"]
rpm = 30
tpm = 40000

[[tasks]]
task = "count"
end = 10
"""


def test_a_suite_sets_limits_per_model_and_plain_models_stay_strings():
    suite = parse_suite(SUITE, "s.toml")
    assert suite.models == ["sim/diligent", "sim/lazy?k=5"]
    assert suite.limits == {"sim/diligent": RateLimits(rpm=30, tpm=40000)}


@pytest.mark.parametrize(
    "table,line,field",
    [
        ('[limits."sim/diligent"]\nrpm = 0', 4, 'limits."sim/diligent".rpm'),
        ('[limits."sim/diligent"]\nrpm = -5', 4, 'limits."sim/diligent".rpm'),
        ('[limits."sim/diligent"]\nrpm = 2.5', 4, 'limits."sim/diligent".rpm'),
        ('[limits."sim/diligent"]\nrpm = "30"', 4, 'limits."sim/diligent".rpm'),
        ('[limits."sim/diligent"]\ntpm = 0', 4, 'limits."sim/diligent".tpm'),
        ('[limits."sim/diligent"]\nrpn = 30', 4, 'limits."sim/diligent".rpn'),
        ('[limits."openai/gpt-4.1"]\nrpm = 30', 3, 'limits."openai/gpt-4.1"'),
        ('limits = { "sim/diligent" = { rpm = 0 } }', 3, 'limits."sim/diligent".rpm'),
    ],
)
def test_a_bad_limit_is_one_line_naming_the_file_and_field(table, line, field):
    text = f'name = "x"\nmodels = ["sim/diligent"]\n{table}\n\n[[tasks]]\ntask = "count"\nend = 10\n'
    with pytest.raises(BadInput) as err:
        parse_suite(text, "bad.toml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"bad.toml:{line}: {field}:"), message


def test_limits_are_not_part_of_a_suites_identity():
    a = parse_suite(SUITE, "s.toml")
    b = parse_suite(SUITE.replace("rpm = 30", "rpm = 5"), "s.toml")
    assert a.limits != b.limits and differences(a, b) == []


def test_flags_set_limits_for_every_model_or_one(tmp_path):
    from longhaul.runner import plan

    path = tmp_path / "s.toml"
    path.write_text(SUITE)
    p = plan(path, rpm=["10"], tpm=["sim/lazy?k=5=2000"])
    assert p.suite.limits == {"sim/diligent": RateLimits(rpm=10, tpm=40000), "sim/lazy?k=5": RateLimits(rpm=10, tpm=2000)}
    with pytest.raises(BadInput, match=r"^--rpm: 'sim/nosuch=3': sim/nosuch is not one of the run's models"):
        plan(path, rpm=["sim/nosuch=3"])
    with pytest.raises(BadInput, match=r"^--tpm: 'x': "):
        plan(path, tpm=["x"])
    # Another model list drops the limits of models it leaves out, rather than failing on them.
    assert plan(path, models=["sim/lazy?k=5"]).suite.limits == {}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LONGHAUL_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "longhaul.cli", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def test_a_bad_rpm_flag_or_suite_exits_2_with_one_line(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE.replace("rpm = 30", "rpm = 0"))
    r = run_cli("run", str(suite), "--plain", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f'{suite}:5: limits."sim/diligent".rpm:' in r.stderr
    assert not (tmp_path / "reports").exists()  # nothing made, nothing lost
    suite.write_text(SUITE)
    r = run_cli("run", str(suite), "--plain", "--rpm", "0", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--rpm: '0':" in r.stderr, r.stderr


# -- a run, and what the views show ---------------------------------------------------------------


def test_a_run_keeps_the_limits_and_the_views_show_them(tmp_path):
    from rich.console import Console

    from longhaul.display.live import LiveDisplay
    from longhaul.runner import arun, plan
    from longhaul.tui.state import RunState

    path = tmp_path / "s.toml"
    path.write_text(SUITE)
    state = RunState()
    result = asyncio.run(arun(plan(path, rpm=["sim/lazy?k=5=1000"]), out=tmp_path / "run", display=state))
    assert result.stored == 2
    lines = state.rate_lines()
    # One request each, within the minute; what the diligent one used in place of its reservation.
    assert re.fullmatch(r"sim/diligent: 1/30 rpm · \d\d\d?/40\.0k tpm", lines[0]), lines
    assert lines[1] == "sim/lazy?k=5: 1/1000 rpm"

    # The rich view draws the same lines under its counts.
    console = Console(record=True, width=120, force_terminal=False)
    asyncio.run(arun(plan(path, rpm=["sim/lazy?k=5=1000"]), out=tmp_path / "run2", display=LiveDisplay(console)))
    text = console.export_text()
    assert "limit sim/diligent: 1/30 rpm · " in text and "limit sim/lazy?k=5: 1/1000 rpm" in text, text

    # A resume may change them: they are not the suite's identity.
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["suite"]["limits"]["sim/lazy?k=5"]["rpm"] == 1000


def test_the_terminal_ui_shows_each_limit_under_its_counts(tmp_path):
    from longhaul.runner import plan
    from longhaul.tui.app import LonghaulApp

    path = tmp_path / "s.toml"
    path.write_text(SUITE)

    async def scenario() -> tuple[str, bool]:
        app = LonghaulApp(tmp_path / "run", plan(path))
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            app._refresh(force=True)
            widget = app.query_one("#limits")
            return str(widget.content), widget.display

    text, shown = asyncio.run(scenario())
    assert shown and re.fullmatch(r"limit sim/diligent: 1/30 rpm · \d+/40\.0k tpm", text), text
