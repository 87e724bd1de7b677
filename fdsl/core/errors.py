"""The one exception type that reaches users as a single line and exit code 2."""


class FdslError(Exception):
    """Bad input or an impossible request: the message says what is wrong and how to fix it."""

