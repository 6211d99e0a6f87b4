"""The terminal UI: a Textual app that runs a suite or browses a run, above the engine it drives."""
