"""A catalog compiled for evaluation: symbols, evaluation order and one vectorized run.

The *environment* holds one array per name, shape ``(n,)`` or scalar (broadcast):

* requirements and parameters: real/int/bool as float64, choice as an int index array
  (position in ``options``);
* ``material``: int index into the catalog's materials (in file order);
* derived values, ``volume`` and objectives are added by :meth:`Program.run`.

Lookups: ``CHOICE.COLUMN`` reads ``tables[CHOICE][option][COLUMN]`` at the choice's index;
``material.density``, ``material.cost_per_kg`` and ``material.PROPERTY``; ``printer.x``,
``printer.y``, ``printer.z`` (mm) and ``printer.volume`` (mm^3) are the build volume of the
largest printer (by volume) whose technology matches the material's technology (0 when none
can print it, so a fit constraint fails). The printers are the catalog's own ``printers:``
unless the environment holds a table of its own under :data:`PRINTER_TABLE_KEY` (a farm
attached to a design run: one row per material, columns :data:`PRINTER_COLUMNS`).

``plate`` (when the catalog has one): the printed piece's x, y, z extents (mm), compiled
like derived values; :meth:`Program.plate_extents` evaluates them.

Host functions (``print_seconds``, ``print_grams``; :mod:`configurator.core.catalog.expressions`)
read the estimator bound in ``env["@estimator"]`` and the design's ``material``;
:attr:`Program.host_calls` says whether the catalog uses them at all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from configurator.core.catalog.expressions import Compiled, Env, Fn

PRINTER_COLUMNS = ("x", "y", "z", "volume")
#: environment key of a printer table that replaces the catalog's (materials x columns)
PRINTER_TABLE_KEY = "@printers"


def _read(name: str) -> Fn:
    return lambda env: env[name]


def _lookup(index_name: str, column: np.ndarray) -> Fn:
    def fetch(env: Env) -> np.ndarray:
        return column[env[index_name]]

    return fetch


def _printer_lookup(column: np.ndarray, j: int) -> Fn:
    def fetch(env: Env) -> np.ndarray:
        table = env.get(PRINTER_TABLE_KEY)
        col = column if table is None else table[:, j]
        return col[env["material"]]

    return fetch


@dataclass
class CatalogScope:
    """Symbol table of one catalog for the expression compiler (see module docstring)."""

    values: set[str] = field(default_factory=set)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lookups: dict[str, np.ndarray] = field(default_factory=dict)
    #: lookup head -> the choice whose index selects the row (printer -> material)
    index_of: dict[str, str] = field(default_factory=lambda: {"printer": "material"})

    def getter(self, name: str) -> Fn | None:
        if name in self.lookups:
            head, _, col = name.partition(".")
            if head == "printer":
                return _printer_lookup(self.lookups[name], PRINTER_COLUMNS.index(col))
            return _lookup(self.index_of.get(head, head), self.lookups[name])
        if name in self.values or name in self.choices:
            return _read(name)
        return None

    def options(self, name: str) -> tuple[str, ...] | None:
        return self.choices.get(name)

    def describe(self, name: str) -> str:
        if "." in name:
            head, _, col = name.partition(".")
            cols = sorted(k.split(".", 1)[1] for k in self.lookups if k.startswith(head + "."))
            if cols:
                return f" ({head!r} has: {', '.join(cols)})"
            if head in self.choices:
                return f" (no table for {head!r})"
            return f" ({head!r} is not a choice with a table)"
        known = sorted(self.values | set(self.choices))
        close = difflib.get_close_matches(name, known, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def known(self) -> set[str]:
        return self.values | set(self.choices) | set(self.lookups)


@dataclass
class Program:
    """Compiled catalog: ``run(env)`` fills derived values, objectives and margins."""

    order: list[str]  # derived names (with "volume") in dependency order
    derived: dict[str, Compiled]
    objectives: dict[str, Compiled]
    constraints: dict[str, Compiled]  # constraint name -> margin expression
    scope: CatalogScope
    plate: dict[str, Compiled] | None = None  # "x", "y", "z" -> extent expression (mm)

    def plate_extents(self, env: dict[str, np.ndarray], *, n: int) -> np.ndarray | None:
        """(n, 3) mm: the plate extents of ``n`` designs from an environment :meth:`run`
        filled; None when the catalog declares no ``plate``."""
        if self.plate is None:
            return None
        with np.errstate(all="ignore"):
            cols = [_full(self.plate[a](env), (n,)) for a in ("x", "y", "z")]
        return np.column_stack(cols)

    def run(
        self, env: dict[str, np.ndarray], *, n: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Evaluate everything for ``n`` designs; returns (derived, objectives, margins).

        ``env`` must hold every requirement, parameter and ``material`` (arrays ``(n,)`` or
        scalars); it is extended in place. A derived value already in ``env`` (see
        :meth:`fold`) is not recomputed. Every returned array has shape ``(n,)``; values
        that are the same for every design are read-only broadcast views.
        """
        shape = (n,)
        with np.errstate(all="ignore"):
            derived: dict[str, np.ndarray] = {}
            for name in self.order:
                value = env.get(name)
                if value is None:
                    value = self.derived[name](env)
                    env[name] = value
                derived[name] = _full(value, shape)
            objectives = {}
            for name, expr in self.objectives.items():
                value = expr(env)
                env[name] = value
                objectives[name] = _full(value, shape)
            margins = {name: _full(expr(env), shape) for name, expr in self.constraints.items()}
        return derived, objectives, margins

    @property
    def host_calls(self) -> frozenset[str]:
        """The host functions (``print_seconds``, ``print_grams``) any expression calls."""
        exprs = [*self.derived.values(), *self.objectives.values(), *self.constraints.values()]
        return frozenset().union(*(e.hosts for e in exprs))

    def inputs_of(self, name: str) -> set[str]:
        """The input names (requirements, parameters, ``material``) ``name`` depends on
        (a host-function call depends on ``material``)."""
        expr = self.derived.get(name) or self.objectives.get(name) or self.constraints[name]
        out: set[str] = {"material"} if expr.hosts else set()
        for ref in expr.names:
            head = ref.split(".", 1)[0] if "." in ref else ref
            head = self.scope.index_of.get(head, head) if "." in ref else head
            if head in self.derived:
                out |= self.inputs_of(head)
            elif head in self.objectives:
                out |= self.inputs_of(head)
            else:
                out.add(head)
        return out

    def fold(self, env: dict[str, np.ndarray], *, fixed: set[str]) -> None:
        """Precompute (into ``env``) every derived value that depends only on ``fixed``
        inputs, so :meth:`run` does not recompute it for every population."""
        with np.errstate(all="ignore"):
            for name in self.order:
                if self.inputs_of(name) <= fixed:
                    env[name] = np.asarray(self.derived[name](env), dtype=np.float64)


def _full(value: np.ndarray, shape: tuple[int]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == shape:
        return arr
    return np.broadcast_to(arr, shape)


def topological_order(
    deps: Mapping[str, set[str]], *, on_cycle: Callable[[list[str]], None]
) -> list[str]:
    """Names in an order where each comes after what it depends on (file order otherwise).

    ``deps[name]`` are the names (among ``deps``) that ``name`` reads. For every cycle,
    ``on_cycle(path)`` is called with the names around it (first repeated at the end);
    names on a cycle are left out of the result.
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done, 3 on a cycle

    def visit(name: str, stack: list[str]) -> bool:
        s = state.get(name)
        if s == 2:
            return True
        if s == 3:
            return False
        if s == 1:
            cycle = stack[stack.index(name) :] + [name]
            for c in cycle:
                state[c] = 3
            on_cycle(cycle)
            return False
        state[name] = 1
        ok = True
        for dep in sorted(deps[name], key=list(deps).index):
            ok = visit(dep, [*stack, name]) and ok
        if state.get(name) == 3:
            return False
        if ok:
            state[name] = 2
            order.append(name)
        else:
            state[name] = 3
        return ok

    for name in deps:
        visit(name, [])
    return order
