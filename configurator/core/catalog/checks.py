"""Semantic checks of a structurally valid catalog, and its compilation to a Program.

:func:`check` returns every problem as an :class:`Issue` whose ``loc`` is the path of the
offending node in the catalog document (``("parameters", "wall", "min")``); the loader turns
``loc`` into ``PATH:LINE:COL``. Checks: names (identifiers, unique, not reserved), bounds
ordered, steps, defaults inside bounds, choice options non-empty and unique, every table
covers every option with the same columns, every material has the same properties, every
expression compiles (names defined, whitelist), no cycles among derived values, constraint
names unique, examples refer to known names. The generator check lives in the loader (it
needs the geometry registry).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from configurator.core.catalog.expressions import (
    RESERVED,
    Compiled,
    compile_expression,
    compile_margin,
    host_call_positions,
    parse,
)
from configurator.core.catalog.model import NAME_PATTERN, Catalog, Derived, FieldSpec
from configurator.core.catalog.program import (
    PRINTER_COLUMNS,
    CatalogScope,
    Program,
    topological_order,
)
from configurator.errors import CatalogError, ExpressionError, Problem

Loc = tuple[str | int, ...]
BUILTIN_NAMES = frozenset({"material", "printer", "volume"})


@dataclass(frozen=True)
class Issue:
    """A semantic problem at ``loc``; ``offset`` = (line, col) inside an expression text."""

    loc: Loc
    message: str
    offset: tuple[int, int] | None = None


def check(catalog: Catalog) -> tuple[list[Issue], Program | None]:
    """Every semantic problem of ``catalog`` and, when there are none, its Program."""
    issues: list[Issue] = []
    _check_names(catalog, issues)
    for section in ("requirements", "parameters"):
        for name, spec in getattr(catalog, section).items():
            _check_field(spec, (section, name), issues)
    _check_materials(catalog, issues)
    _check_tables(catalog, issues)
    scope = _scope(catalog)
    program = _compile(catalog, scope, issues)
    _check_examples(catalog, scope, issues)
    return issues, (program if not issues else None)


def compile_or_raise(catalog: Catalog) -> Program:
    """The Program of ``catalog``; CatalogError (positions unknown) when it has problems."""
    issues, program = check(catalog)
    if program is None:
        where = str(catalog.path or f"<catalog {catalog.id}>")
        raise CatalogError(
            [Problem(where, 0, 0, f"{'.'.join(map(str, i.loc))}: {i.message}") for i in issues]
        )
    return program


# ------------------------------------------------------------------------------ names


def compiled(catalog: Catalog) -> Catalog:
    """``catalog`` with its program compiled (for catalogs built in memory; the loader does
    this for every file). Raises :class:`CatalogError` with every problem."""
    catalog._program = compile_or_raise(catalog)
    return catalog


def _check_names(catalog: Catalog, issues: list[Issue]) -> None:
    seen: dict[str, str] = {}
    sections = ("requirements", "parameters", "derived", "objectives")
    for section in sections:
        for name in getattr(catalog, section):
            loc = (section, name, "<key>")
            if not re.match(NAME_PATTERN, name):
                issues.append(
                    Issue(
                        loc,
                        f"name {name!r} must be letters, digits and '_' (starting with a letter)",
                    )
                )
            elif name in RESERVED or name in BUILTIN_NAMES:
                issues.append(Issue(loc, f"name {name!r} is reserved"))
            elif name in seen:
                issues.append(Issue(loc, f"name {name!r} is already defined in {seen[name]}"))
            else:
                seen[name] = section
    names = [c.name for c in catalog.constraints]
    for i, c in enumerate(catalog.constraints):
        if names.index(c.name) != i:
            issues.append(
                Issue(("constraints", i, "name"), f"constraint name {c.name!r} is used twice")
            )
    for printer, spec in catalog.printers.items():
        for axis, v in zip("xyz", spec.build_volume, strict=True):
            if not v > 0:
                issues.append(
                    Issue(("printers", printer, "build_volume"), f"build volume {axis} must be > 0")
                )


# ----------------------------------------------------------------------------- fields


def _fmt(v: float) -> str:
    return f"{v:g}"


def _check_field(spec: FieldSpec, loc: Loc, issues: list[Issue]) -> None:
    kind = spec.type
    if kind in ("real", "int"):
        for key in ("options",):
            if getattr(spec, key) is not None:
                issues.append(Issue((*loc, key), f"'{key}' is only for choice, not {kind}"))
        if spec.min is None or spec.max is None:
            issues.append(Issue(loc, f"a {kind} needs both 'min' and 'max'"))
            return
        lo, hi = spec.min, spec.max
        if not (math.isfinite(lo) and math.isfinite(hi)):
            bad = "min" if not math.isfinite(lo) else "max"
            issues.append(
                Issue((*loc, bad), f"bounds must be finite ({bad} is {getattr(spec, bad)})")
            )
            return
        if lo >= hi:
            issues.append(
                Issue((*loc, "max"), f"max ({_fmt(hi)}) must be greater than min ({_fmt(lo)})")
            )
            return
        if kind == "int":
            for key, v in (("min", lo), ("max", hi)):
                if v != round(v):
                    issues.append(
                        Issue((*loc, key), f"{key} of an int must be a whole number, got {_fmt(v)}")
                    )
            if spec.step is not None and spec.step != round(spec.step):
                issues.append(Issue((*loc, "step"), "step of an int must be a whole number"))
        if spec.step is not None and spec.step > hi - lo:
            issues.append(
                Issue((*loc, "step"), f"step ({_fmt(spec.step)}) is larger than max - min")
            )
        d = spec.default
        if d is not None:
            if isinstance(d, bool) or not isinstance(d, int | float):
                issues.append(
                    Issue((*loc, "default"), f"default of a {kind} must be a number, got {d!r}")
                )
            elif not lo <= d <= hi:
                issues.append(
                    Issue(
                        (*loc, "default"), f"default {_fmt(d)} is outside [{_fmt(lo)}, {_fmt(hi)}]"
                    )
                )
            elif kind == "int" and d != round(d):
                issues.append(
                    Issue(
                        (*loc, "default"),
                        f"default of an int must be a whole number, got {_fmt(d)}",
                    )
                )
        return
    for key in ("min", "max", "step"):
        if getattr(spec, key) is not None:
            issues.append(Issue((*loc, key), f"'{key}' is only for real and int, not {kind}"))
    if kind == "choice":
        opts = spec.options
        if not opts:
            issues.append(
                Issue(
                    (*loc, "options") if opts is not None else loc,
                    "a choice needs a non-empty 'options' list",
                )
            )
            return
        for i, o in enumerate(opts):
            if opts.index(o) != i:
                issues.append(Issue((*loc, "options", i), f"option {o!r} is listed twice"))
        d = spec.default
        if d is not None and (isinstance(d, bool) or str(d) not in opts):
            issues.append(
                Issue((*loc, "default"), f"default {d!r} is not one of the options {opts}")
            )
        return
    if spec.options is not None:
        issues.append(Issue((*loc, "options"), "'options' is only for choice, not bool"))
    if spec.default is not None and not isinstance(spec.default, bool):
        issues.append(
            Issue(
                (*loc, "default"), f"default of a bool must be true or false, got {spec.default!r}"
            )
        )


# ----------------------------------------------------------------- materials, tables


def _check_materials(catalog: Catalog, issues: list[Issue]) -> None:
    first_name, first = next(iter(catalog.materials.items()))
    keys = set(first.properties)
    for name, m in catalog.materials.items():
        for k in m.properties:
            if not re.match(NAME_PATTERN, k) or k in ("density", "cost_per_kg"):
                issues.append(
                    Issue(
                        ("materials", name, "properties", k, "<key>"),
                        f"property name {k!r} is not allowed",
                    )
                )
        missing = keys - set(m.properties)
        extra = set(m.properties) - keys
        if missing or extra:
            what = []
            if missing:
                what.append(f"lacks {sorted(missing)}")
            if extra:
                what.append(f"has extra {sorted(extra)}")
            issues.append(
                Issue(
                    ("materials", name, "properties") if m.properties else ("materials", name),
                    f"material {name!r} {' and '.join(what)}: every material needs the same properties as {first_name!r}",
                )
            )


def _choices(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for section in ("requirements", "parameters"):
        for name, spec in getattr(catalog, section).items():
            if spec.type == "choice" and spec.options:
                out[name] = tuple(spec.options)
    return out


def _check_tables(catalog: Catalog, issues: list[Issue]) -> None:
    choices = _choices(catalog)
    for table, rows in catalog.tables.items():
        loc: Loc = ("tables", table)
        spec = catalog.parameters.get(table) or catalog.requirements.get(table)
        if spec is not None and spec.type == "choice" and not spec.options:
            continue  # a choice without options: reported with the choice itself
        if table not in choices:
            issues.append(
                Issue(
                    (*loc, "<key>"),
                    f"table {table!r} does not name a choice requirement or parameter",
                )
            )
            continue
        options = choices[table]
        missing = [o for o in options if o not in rows]
        if missing:
            issues.append(
                Issue(loc, f"table {table!r} has no row for option(s) {', '.join(missing)}")
            )
        for row in rows:
            if row not in options:
                issues.append(
                    Issue(
                        (*loc, row, "<key>"),
                        f"{row!r} is not an option of {table!r} (options: {', '.join(options)})",
                    )
                )
        columns = None
        for row, cols in rows.items():
            for col, v in cols.items():
                if not re.match(NAME_PATTERN, col):
                    issues.append(
                        Issue((*loc, row, col, "<key>"), f"column name {col!r} is not allowed")
                    )
                if not math.isfinite(v):
                    issues.append(Issue((*loc, row, col), "table values must be finite numbers"))
            if columns is None:
                columns = set(cols)
            elif set(cols) != columns:
                issues.append(
                    Issue(
                        (*loc, row),
                        f"row {row!r} has columns {sorted(cols)}, expected {sorted(columns)}",
                    )
                )


def _scope(catalog: Catalog) -> CatalogScope:
    scope = CatalogScope()
    choices = _choices(catalog)
    for section in ("requirements", "parameters"):
        for name, spec in getattr(catalog, section).items():
            if spec.type != "choice":
                scope.values.add(name)
    scope.choices.update(choices)
    for table, rows in catalog.tables.items():
        options = choices.get(table)
        if not options:
            continue
        # rows or cells that are missing are reported by _check_tables; NaN avoids cascades
        columns = set().union(*(set(r) for r in rows.values())) if rows else set()
        for col in sorted(columns):
            scope.lookups[f"{table}.{col}"] = np.array(
                [rows.get(o, {}).get(col, np.nan) for o in options], dtype=float
            )
    mats = list(catalog.materials.values())
    scope.choices["material"] = tuple(catalog.materials)
    scope.lookups["material.density"] = np.array([m.density for m in mats])
    scope.lookups["material.cost_per_kg"] = np.array([m.cost_per_kg for m in mats])
    common = set.intersection(*(set(m.properties) for m in mats))
    for prop in sorted(common - {"density", "cost_per_kg"}):
        scope.lookups[f"material.{prop}"] = np.array(
            [m.properties[prop] for m in mats], dtype=float
        )
    if catalog.printers:
        best = []
        for m in mats:
            capable = [
                p.build_volume for p in catalog.printers.values() if p.technology == m.technology
            ]
            bv = max(capable, key=lambda b: (b[0] * b[1] * b[2], b), default=(0.0, 0.0, 0.0))
            best.append((*bv, bv[0] * bv[1] * bv[2]))
        table = np.array(best, dtype=float)
        for i, col in enumerate(PRINTER_COLUMNS):
            scope.lookups[f"printer.{col}"] = table[:, i].copy()
    return scope


# ------------------------------------------------------------------------ expressions


def _expr_loc(catalog: Catalog, name: str) -> Loc:
    return (
        ("derived", name, "expr")
        if isinstance(catalog.derived[name], Derived)
        else ("derived", name)
    )


_HOST_ONLY = (
    "{fname}() may be called in objectives and constraints only: derived values, the "
    "volume and the plate feed the geometry, which must not depend on a print estimate"
)


def _compile(catalog: Catalog, scope: CatalogScope, issues: list[Issue]) -> Program | None:
    n_before = len(issues)
    texts: dict[str, tuple[Loc, str | float]] = {
        name: (_expr_loc(catalog, name), catalog.derived_expr(name)) for name in catalog.derived
    }
    texts["volume"] = (("volume",), catalog.volume)
    parsed = {}
    for name, (loc, text) in texts.items():
        try:
            parsed[name] = parse(text)
        except ExpressionError as exc:
            issues.append(Issue(loc, exc.message, (exc.line, exc.col)))
            continue
        for fname, line, col in host_call_positions(parsed[name]):
            issues.append(Issue(loc, _HOST_ONLY.format(fname=fname), (line, col)))
    # values that derived expressions may read: inputs, then every derived value
    scope.values.update(texts)

    deps = {name: {d for d in p.names if d in parsed} for name, p in parsed.items()}

    def on_cycle(path: list[str]) -> None:
        loc = texts[path[0]][0]
        issues.append(Issue(loc, f"derived values form a cycle: {' -> '.join(path)}"))

    order = topological_order(deps, on_cycle=on_cycle)
    derived: dict[str, Compiled] = {}
    for name, p in parsed.items():
        try:
            derived[name] = compile_expression(p, scope)
        except ExpressionError as exc:
            issues.append(Issue(texts[name][0], exc.message, (exc.line, exc.col)))

    objectives: dict[str, Compiled] = {}
    for name, obj in catalog.objectives.items():
        try:
            objectives[name] = compile_expression(parse(obj.expr), scope)
        except ExpressionError as exc:
            issues.append(Issue(("objectives", name, "expr"), exc.message, (exc.line, exc.col)))
    plate: dict[str, Compiled] = {}
    if catalog.plate is not None:
        for axis in ("x", "y", "z"):
            try:
                tree = parse(getattr(catalog.plate, axis))
                for fname, line, col in host_call_positions(tree):
                    issues.append(
                        Issue(("plate", axis), _HOST_ONLY.format(fname=fname), (line, col))
                    )
                plate[axis] = compile_expression(tree, scope)
            except ExpressionError as exc:
                issues.append(Issue(("plate", axis), exc.message, (exc.line, exc.col)))
    scope.values.update(catalog.objectives)  # constraints may read objectives
    constraints: dict[str, Compiled] = {}
    for i, c in enumerate(catalog.constraints):
        try:
            constraints[c.name] = compile_margin(parse(c.expr), scope)
        except ExpressionError as exc:
            issues.append(Issue(("constraints", i, "expr"), exc.message, (exc.line, exc.col)))
    if len(issues) > n_before:
        return None
    return Program(
        order=order,
        derived=derived,
        objectives=objectives,
        constraints=constraints,
        scope=scope,
        plate=plate or None,
    )


def _check_examples(catalog: Catalog, scope: CatalogScope, issues: list[Issue]) -> None:
    expectable = set(catalog.derived) | {"volume"} | set(catalog.objectives) | set(scope.lookups)
    for i, ex in enumerate(catalog.examples):
        for name in ex.requirements:
            if name not in catalog.requirements:
                issues.append(
                    Issue(
                        ("examples", i, "requirements", name, "<key>"),
                        f"unknown requirement {name!r}",
                    )
                )
        for name in ex.parameters:
            if name not in catalog.parameters:
                issues.append(
                    Issue(
                        ("examples", i, "parameters", name, "<key>"), f"unknown parameter {name!r}"
                    )
                )
        if ex.material is not None and ex.material not in catalog.materials:
            issues.append(Issue(("examples", i, "material"), f"unknown material {ex.material!r}"))
        for name in ex.expect:
            if name not in expectable:
                issues.append(
                    Issue(
                        ("examples", i, "expect", name, "<key>"),
                        f"{name!r} is not a derived value, objective or lookup",
                    )
                )
