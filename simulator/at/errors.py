"""The exception a handler raises to end its command with an error reply."""

from __future__ import annotations


class AtError(Exception):
    """End the command with an error.

    `code` is a numeric CME/CMS error, a symbolic name the profile's error table maps to one
    (`"invalid_param"`, `"sim_not_inserted"`...), or None for a plain `ERROR`.
    """

    def __init__(self, code: int | str | None = None, *, cms: bool = False):
        super().__init__(code)
        self.code = code
        self.cms = cms
