"""Verification: answer text (streamed or whole) to a `Verdict` with evidence."""

from longhaul.verify.verifier import Progress, StreamingVerifier, verify

__all__ = ["Progress", "StreamingVerifier", "verify"]
