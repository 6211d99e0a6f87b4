"""The child process that serves a GGUF: llama.cpp's own server, in a process that ends when its
parent does.

`python -m longhaul.providers.llamacpp_child <llama_cpp.server arguments>` runs
`python -m llama_cpp.server` in this same process, with one daemon thread reading standard input.
The parent holds the only write end of that pipe, and the kernel closes it however the parent ends
(a normal exit, Ctrl-C, an exception, SIGKILL), so the thread reads end-of-file and ends the
process at once. Chosen over PR_SET_PDEATHSIG, which fires when the *thread* that started the child
ends (a run started from a worker thread, as the terminal UI's is, would lose its server early) and
exists only on Linux; a pipe works on any POSIX system, and no second process is left to outlive
the first, as a wrapper around a grandchild could be.

It imports nothing of longhaul: it is a process of its own.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading


def _exit_when_parent_goes() -> None:
    """Read standard input until end-of-file (the parent has gone, or closed the pipe to stop
    us), then end the whole process: the server's threads included, with no cleanup to hang on."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main() -> None:
    threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    sys.argv = ["llama_cpp.server", *sys.argv[1:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
