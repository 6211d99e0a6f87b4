"""longhaul: measures whether language models will produce long, mechanically checkable outputs,
and whether what they produce is right."""

from importlib.metadata import PackageNotFoundError, version

from longhaul.verdict import Evidence, FirstError, Outcome, Verdict
from longhaul.verify import StreamingVerifier, verify

try:
    __version__ = version("longhaul")
except PackageNotFoundError:  # a checkout that is not installed
    __version__ = "0.0.0+checkout"

__all__ = ["Evidence", "FirstError", "Outcome", "StreamingVerifier", "Verdict", "__version__", "verify"]


def __getattr__(name: str):  # noqa: ANN202 - the engine loads only when a script asks for it
    if name in ("run", "plan"):
        from longhaul import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'longhaul' has no attribute {name!r}")
