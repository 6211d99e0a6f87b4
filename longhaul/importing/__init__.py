"""Answers that longhaul did not produce, turned into a run folder (`longhaul import`).

Each reader (one module per format family) turns its source into `ImportedAnswer`s, or a
`BadInput` for a record it cannot read, one per record so that a bad one never stops the rest;
`build` verifies the answers and stores them as an ordinary run, marked imported.
"""

from __future__ import annotations

from longhaul.importing.answer import ImportedAnswer, Reading

__all__ = ["ImportedAnswer", "Reading"]
