"""Errors a user can act on."""


class LonghaulError(Exception):
    """Base of longhaul's own errors."""


class BadInput(LonghaulError):
    """Input that longhaul refuses: a bad file, field, flag or parameter. The CLI exits 2 on it;
    the message is one line naming what is wrong and what is allowed."""


class StoreError(BadInput):
    """A run folder that cannot be made, read or written: an `--out` under a regular file or on a
    read-only disk, a damaged `trials.sqlite`, a disk that filled during a run. The CLI exits 2 on
    it, as on bad input; the message is one line naming the folder or file, what is wrong, and for
    a run that had started, how to resume it."""
