"""The command line's error policy: which exceptions are bad input (exit 2), which a failed job (exit 1)."""

from __future__ import annotations

__all__ = ["CommandFailedError", "exit_code", "one_line"]


class CommandFailedError(RuntimeError):
    """The command was valid but its work could not be done (a download failed): exit status 1, one line."""


def _input_errors() -> tuple[type[BaseException], ...]:
    from ..models.checkpoints import CheckpointError

    # ValueError covers DatasetError, CocoFormatError, DavisError and every argument check of the library
    return (ValueError, TypeError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError,
            ImportError, CheckpointError)


def exit_code(exc: BaseException) -> int | None:
    """2 for bad input, 1 for work that failed (:class:`CommandFailedError`, other ``OSError`` such as a full disk),
    None for anything else (a bug: its traceback is shown)."""
    if isinstance(exc, CommandFailedError):
        return 1
    if isinstance(exc, _input_errors()):
        return 2
    if isinstance(exc, OSError):
        return 1
    return None


def one_line(exc: BaseException) -> str:
    """An error's message on one line (checkpoint mismatches list missing keys on lines of their own)."""
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__
