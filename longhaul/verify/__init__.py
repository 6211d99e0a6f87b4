"""Verification: answer text (streamed or whole) to a `Verdict` with evidence."""

from longhaul.verify.lexer import ItemsGiven
from longhaul.verify.verifier import StreamingVerifier, verify

__all__ = ["ItemsGiven", "StreamingVerifier", "verify"]
