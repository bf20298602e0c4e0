"""The command line, ``hqsam-nb <command>``: one module per command, one error policy.

Commands (``hqsam-nb --help``): every module of this package whose name does not start with ``_`` is one
(``export_onnx.py`` is ``hqsam-nb export-onnx``). A command module defines

* ``HELP`` - one line for ``hqsam-nb --help``; its docstring's first paragraph is the command's description;
* ``add_arguments(parser)`` - its options; shared ones come from :mod:`._options` (model, engine, output);
* ``run(args) -> int`` - turns the parsed arguments into typed values and calls library functions with them.

Module-level imports of a command module stay light (no torch, no model code): ``hqsam-nb --help`` and argument
errors answer at once; the heavy imports happen inside ``run``.

Exit status, the same for every command:

* 0 - done;
* 1 - the work could not be done although the command was valid (a download failed, the disk is full); one line
  on stderr, finished work is kept;
* 2 - bad input: an argument, a file, a dataset or a checkpoint was refused; one line on stderr (``error: ...``),
  no traceback, nothing computed;
* 130 - interrupted (Ctrl-C): finished work is kept; the same command continues where it stopped.

Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from types import ModuleType

from ._errors import CommandFailedError, exit_code, one_line

__all__ = ["CommandFailedError", "commands", "main", "run_command"]

logger = logging.getLogger("hqsam_nb.cli")


class _Parser(argparse.ArgumentParser):
    """argparse with its error on one line (usage is one ``--help`` away), exit status 2 as before."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def commands() -> dict[str, ModuleType]:
    """Every command, by its name on the command line, in alphabetical order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found[info.name.replace("_", "-")] = importlib.import_module(f".{info.name}", __name__)
    return found


def _describe(module: ModuleType) -> str:
    return (module.__doc__ or module.HELP).strip().split("\n\n")[0].replace("\n", " ")


def _add_command(sub: argparse._SubParsersAction, name: str, module: ModuleType) -> None:
    parser = sub.add_parser(name, help=module.HELP, description=_describe(module))
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)


def _parser(prog: str, only: str | None = None) -> argparse.ArgumentParser:
    if only is not None:
        module = commands()[only]
        parser = _Parser(prog=prog, description=_describe(module))
        module.add_arguments(parser)
        parser.set_defaults(_run=module.run)
        return parser
    parser = _Parser(prog=prog, description="Understand, try and measure HQ-SAM against SAM: checkpoints, "
                                            "evaluations, exports. One command per task; each has --help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, module in commands().items():
        _add_command(sub, name, module)
    return parser


def _dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = parser.parse_args(argv)  # a usage error exits 2 here (SystemExit), before anything is done
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    elif logging.getLogger().level > logging.INFO:  # under pytest or in a notebook: let INFO lines through
        logging.getLogger("hqsam_nb").setLevel(logging.INFO)
    try:
        return args._run(args)
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        where = f" in {out}" if out else ""
        logger.warning("interrupted: the finished work is saved%s; run the same command again to continue", where)
        return 130
    except BaseException as exc:  # noqa: BLE001 - sorted into the policy; bugs are raised again
        code = exit_code(exc)
        if code is None:
            raise
        out = getattr(args, "out", None)
        failed_writing = code == 1 and out and not isinstance(exc, CommandFailedError)
        kept = f" (finished work is kept in {out})" if failed_writing else ""
        logger.error("error: %s%s", one_line(exc), kept)
        return code


def main(argv: list[str] | None = None, *, prog: str = "hqsam-nb") -> int:
    """``hqsam-nb COMMAND ...``: parse, run the command, map its errors to the exit status (module docstring)."""
    return _dispatch(_parser(prog), argv)


def run_command(name: str, argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """One command alone (``python -m hqsam_nb.evaluate`` is ``run_command("evaluate")``)."""
    return _dispatch(_parser(prog or f"hqsam-nb {name}", only=name), argv)


if __name__ == "__main__":
    sys.exit(main())
