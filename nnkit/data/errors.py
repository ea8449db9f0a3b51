"""Errors about data that a user can fix (a missing file, a missing column)."""


class DataError(Exception):
    """A problem with the data named by the config; the message names the key."""
