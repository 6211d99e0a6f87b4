"""How a run shows itself: the engine calls a `Display` (protocol.py) and knows nothing else."""

from longhaul.display.protocol import Display, RunControl, RunInfo, RunSummary

__all__ = ["Display", "RunControl", "RunInfo", "RunSummary"]
