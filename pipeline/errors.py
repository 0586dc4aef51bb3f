"""The one exception type that reaches users as a one-line message instead of a traceback."""


class UserError(Exception):
    """A problem the user can fix: bad argument, missing folder, unknown model, unwritable lake."""


class DateBusy(UserError):
    """Another run holds the date: worth trying again later (the DAG retries; the CLI says who holds it)."""


class WriteFailed(UserError):
    """A file could not be written (a full disk, a store refusing the upload): names the file; what was staged
    for it is already removed."""

    def __init__(self, path: object, error: BaseException) -> None:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        super().__init__(f"could not write {path}: {reason}")
