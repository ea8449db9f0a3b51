"""Errors about data that a user can fix (a missing file, a missing column)."""


from nnkit.errors import DataError

__all__ = ["DataError"]
