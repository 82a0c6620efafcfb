"""The ``configurator`` command line.

Each command group lives in its own module under ``configurator.entrypoints.cli`` and exposes
``register(subparsers) -> None``; it sets ``func(args) -> int`` on its parser.
Handlers import heavy libraries lazily so ``configurator --help`` stays fast.

Exit codes: 0 ok, 1 check found problems, 2 bad input (one readable line on
stderr), 3 no feasible design, 4 unexpected internal error (still one line).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from configurator import __version__
from configurator.errors import ConfiguratorError, InfeasibleError

#: command modules, in help order; a module that is absent is skipped.
COMMAND_MODULES = (
    "catalog",
    "design_space",
    "design",
    "serve",
    "node",
    "farm",
    "estimate",
    "trace",
    "bench",
)

EXIT_OK, EXIT_PROBLEMS, EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_INTERNAL = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one readable line, exit 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="configurator",
        description="Generative product customization: catalogs, optimization, meshes, print farm.",
    )
    parser.add_argument("--version", action="version", version=f"configurator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"configurator.entrypoints.cli.{name}")
        except ModuleNotFoundError as exc:  # command not built yet
            if exc.name == f"configurator.entrypoints.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return int(func(args) or 0)
    except InfeasibleError as exc:
        print(f"configurator: no feasible design: {exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except ConfiguratorError as exc:
        print(f"configurator: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("configurator: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: never a traceback to a user
        if "--debug" in sys.argv or __import__("os").environ.get("CONFIGURATOR_DEBUG"):
            raise
        print(
            f"configurator: internal error: {type(exc).__name__}: {exc} "
            "(set CONFIGURATOR_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def int_in_range(low: int, high: int):
    """An argparse ``type`` accepting integers in [low, high] (one readable error otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be between {low:,} and {high:,} (got {value:,})"
            )
        return value

    return parse


class RegistryChoices:
    """argparse ``choices`` read from a registry on first use: ``RegistryChoices(module,
    attribute)`` imports ``module`` only when a value is checked or a sub-command's help is
    shown, so ``configurator --help`` never imports pymoo, trimesh or scikit-learn."""

    def __init__(self, module: str, attribute: str):
        self.module = module
        self.attribute = attribute
        self._names: tuple[str, ...] | None = None

    def _load(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(getattr(importlib.import_module(self.module), self.attribute))
        return self._names

    def __contains__(self, value: object) -> bool:
        return value in self._load()

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
