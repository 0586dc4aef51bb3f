"""The one exception type that reaches users as a one-line message instead of a traceback."""


class UserError(Exception):
    """A problem the user can fix: bad argument, missing folder, unknown model, unwritable lake."""


class DateBusy(UserError):
    """Another run holds the date: worth trying again later (the DAG retries; the CLI says who holds it)."""
