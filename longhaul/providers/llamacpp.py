"""llama.cpp's own OpenAI-compatible server as a child process, for `llamacpp/<gguf>` models.

The first request to a local model starts `python -m llama_cpp.server` as a child process
(`llamacpp_child.py`: it ends when this process does, however this one ends) on a free loopback
port, waits until it answers, and is then used through the OpenAI SDK like any `openai-api`
server. `Providers` stops it when the run ends.

llama.cpp's server has sampling defaults of its own (temperature 0.8, top-k 40, min-p 0.05,
repeat penalty 1.1) where the hosted providers sample from the whole distribution; every request
sends `local_model.Sampling` explicitly, and the run's manifest records it with the file's SHA-256.
The server answers one request at a time: `Providers` lets one through at a time and queues the
rest in longhaul, where waiting cannot time out a request.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from longhaul.errors import BadInput
from longhaul.providers.local_model import Sampling
from longhaul.providers.openai_chat import OpenAIChat
from longhaul.providers.request import Request

START_TIMEOUT = 120.0
"""Seconds the server may take to load the model and answer."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalServer:
    """One llama.cpp server child process, serving one GGUF on a loopback port."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, errors: IO[bytes], alias: str) -> None:
        self.process = process
        self.port = port
        self.alias = alias
        """The model name the server answers to."""
        self._errors = errors

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr_tail(self, lines: int = 3) -> str:
        """The last lines the server wrote to its standard error, on one line."""
        self._errors.seek(0)
        text = self._errors.read()[-4000:].decode("utf-8", "replace")
        return " | ".join(ln.strip() for ln in text.splitlines() if ln.strip())[-600:] if lines else ""

    @classmethod
    async def start(cls, gguf: Path, n_ctx: int, *, timeout: float = START_TIMEOUT) -> LocalServer:
        """Start the server and wait until it lists its model; a server that dies or does not
        answer in `timeout` seconds is a one-line `BadInput` with the end of its stderr."""
        port = _free_port()
        # A file, not a pipe: a chatty server never blocks on it. Closed by aclose.
        errors = tempfile.TemporaryFile()  # noqa: SIM115
        alias = gguf.name
        args = ["--model", str(gguf), "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
        # One request at a time (queued in longhaul), never one interrupting another; all the cores.
        args += ["--interrupt_requests", "False", "--n_threads", str(os.cpu_count() or 1), "--verbose", "False"]
        # Run by path: the child imports nothing of longhaul, so it needs no import path set up.
        child = Path(__file__).with_name("llamacpp_child.py")
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(child), *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=errors
        )
        server = cls(process, port, errors, alias)
        try:
            await server._wait_ready(timeout)
        except BaseException:
            await server.aclose()
            raise
        return server

    async def _wait_ready(self, timeout: float) -> None:
        import httpx2  # the openai SDK's HTTP client: already loaded by the provider

        deadline = time.monotonic() + timeout
        async with httpx2.AsyncClient(timeout=2.0) as client:
            while True:
                if self.process.returncode is not None:
                    raise BadInput(
                        f"llama.cpp server for {self.alias} exited ({self.process.returncode}) before answering: {self.stderr_tail()}"
                    )
                try:
                    response = await client.get(f"{self.url}/models")
                    if response.status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise BadInput(f"llama.cpp server for {self.alias} did not answer within {timeout:.0f}s: {self.stderr_tail()}")
                try:
                    # Wake as soon as the process dies, else poll again shortly.
                    await asyncio.wait_for(asyncio.shield(self.process.wait()), 0.2)
                except TimeoutError:
                    pass

    async def aclose(self) -> None:
        """Stop the server: close its pipe (it ends itself), and kill it if it has not gone in 10 s."""
        process = self.process
        if process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._errors.close()


class LlamaCppChat(OpenAIChat):
    """A local server through the OpenAI SDK, with the sampling sent explicitly. llama.cpp's server
    reads `max_tokens` (not `max_completion_tokens`) and takes top-k, min-p and repeat penalty in
    the body."""

    def __init__(self, *args: Any, sampling: Sampling, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._sampling = sampling

    def _extra_body(self, request: Request) -> dict[str, Any]:
        body = self._sampling.model_dump()
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["max_tokens"] = request.max_tokens
        return body
