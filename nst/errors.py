"""Error types shared by the whole package.

`NSTError` marks a *user* error: bad input, a missing file, a corrupt model.
The CLI prints its message on one line and exits non-zero without a
traceback; library callers can catch it.  Anything else is a bug.
"""

from __future__ import annotations


class NSTError(Exception):
    """A problem the user can fix (bad argument, unreadable file, ...)."""
