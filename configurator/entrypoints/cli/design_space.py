"""``configurator design-space CATALOG [--require NAME=VALUE...] [--lock NAME=VALUE...]
[--bounds NAME=LOW:HIGH...] [--objective NAME...] [--material M] [--json]``.

Prints what the optimizer will see: the validated requirements, the locked parameters, the
variables with their encoded bounds, the objectives and constraints, and an evaluation of the
catalog defaults (derived values, objectives, constraint margins, feasibility). ``CATALOG`` is
a catalog id (looked up in the catalog directory) or a path to a YAML file. Exit 0 when the
space is valid (even if the defaults are infeasible), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design-space",
        help="explain the design space for a catalog and requirements (evaluates the defaults)",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("catalog", metavar="CATALOG", help="catalog id or path to a catalog YAML file")
    p.add_argument("--require", nargs="+", action="extend", default=[], metavar="NAME=VALUE")
    p.add_argument("--lock", nargs="+", action="extend", default=[], metavar="NAME=VALUE")
    p.add_argument(
        "--bounds",
        "--bound",
        dest="bounds",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=LOW:HIGH",
    )
    p.add_argument("--objective", nargs="+", action="extend", default=None, metavar="NAME")
    p.add_argument("--material", default=None, metavar="M", help="fix the material")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def parse_pairs(items: list[str], *, option: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; RequirementsError on a bad item."""
    from configurator.errors import RequirementsError

    out: dict[str, str] = {}
    errors: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            errors[option] = f"expected NAME=VALUE, got {item!r}"
            continue
        out[name] = value.strip()
    if errors:
        raise RequirementsError(errors)
    return out


def _parse_bounds(items: list[str]) -> dict[str, tuple[str, str]]:
    from configurator.errors import RequirementsError

    out = {}
    for name, value in parse_pairs(items, option="--bounds").items():
        lo, sep, hi = value.partition(":")
        if not sep:
            raise RequirementsError({f"bounds.{name}": f"expected LOW:HIGH, got {value!r}"})
        out[name] = (lo, hi)
    return out


def run(args: argparse.Namespace) -> int:
    from configurator.adapters.catalog_yaml import find_catalog
    from configurator.core.design.space import DesignSpace
    from configurator.services.design.service import space_estimator
    from configurator.settings import Settings

    settings = Settings()
    catalog = find_catalog(args.catalog, settings.catalog_dir)
    space = DesignSpace(
        catalog,
        requirements=parse_pairs(args.require, option="--require"),
        locks=parse_pairs(args.lock, option="--lock"),
        bounds=_parse_bounds(args.bounds),
        objectives=args.objective,
        material=args.material,
        estimator=space_estimator(catalog, settings=settings),
    )
    x = space.default_x()
    record = space.record(x)
    ev = space.evaluate(x[None, :])
    report: dict[str, Any] = space.describe()
    report["defaults"] = {
        "design_id": record.design_id,
        "x": [float(v) for v in x],
        "F": [float(v) for v in ev.F[0]],
        "G": [float(v) for v in ev.G[0]],
        **record.model_dump(
            mode="json",
            include={"material", "parameters", "derived", "objectives", "constraints", "feasible"},
        ),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print_text(space, report, given=set(parse_pairs(args.require, option="--require")))
    return 0


def _num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:.6g}"


def _print_text(space: Any, report: dict[str, Any], *, given: set[str]) -> None:
    cat = space.catalog
    out = sys.stdout
    print(f"{cat.id} v{cat.version} ({cat.name}) — sha256 {cat.content_hash[:16]}…", file=out)
    print(f"generator: {cat.generator}    file: {cat.path}", file=out)
    print("\nrequirements:", file=out)
    w = max((len(n) for n in space.requirements), default=0)
    for name, value in space.requirements.items():
        unit = cat.requirements[name].unit or ""
        src = "given" if name in given else "default"
        print(f"  {name:<{w}} = {_num(value)} {unit}  ({src})", file=out)
    if space.locks:
        print("\nlocked:", file=out)
        for name, value in space.locks.items():
            print(f"  {name} = {_num(value)}", file=out)
    print(f"\nvariables ({space.n_var}; choices as integer indices):", file=out)
    w = max((len(v.name) for v in space.variables), default=0)
    for v in space.variables:
        if v.kind in ("choice", "bool"):
            rng = (
                " | ".join(str(o) for o in v.options) + f"  (index {int(v.lower)}..{int(v.upper)})"
            )
        else:
            rng = f"{_num(v.lower)} .. {_num(v.upper)}"
            if v.step:
                rng += f"  step {_num(v.step)}"
            if v.unit:
                rng += f"  {v.unit}"
        print(f"  {v.name:<{w}}  {v.kind:<6}  {rng}", file=out)
    print("\nobjectives:", file=out)
    for o in report["objectives"]:
        print(f"  {o['sense']} {o['name']} [{o['unit']}]", file=out)
    print(f"\nconstraints ({space.n_con}): {', '.join(space.constraint_names)}", file=out)

    d = report["defaults"]
    print(
        f"\ncatalog defaults (material {d['material']}), design {d['design_id'][:16]}…:", file=out
    )
    params = ", ".join(
        f"{k}={_num(p['value'])}{(' ' + p['unit']) if p['unit'] else ''}"
        for k, p in d["parameters"].items()
    )
    print(f"  parameters: {params}", file=out)
    print("  derived:", file=out)
    w = max((len(k) for k in d["derived"]), default=0)
    for k, v in d["derived"].items():
        unit = "mm^3" if k == "volume" else (cat.derived_unit(k) or "")
        print(f"    {k:<{w}} = {_num(v)} {unit}", file=out)
    print("  objectives:", file=out)
    for k, o in d["objectives"].items():
        print(f"    {k} = {_num(o['value'])} {o['unit']}  ({o['sense']})", file=out)
    print("  constraints (margin >= 0 is satisfied):", file=out)
    for k, c in d["constraints"].items():
        state = "ok      " if c["satisfied"] else "VIOLATED"
        extra = "" if c["satisfied"] else f" — {c['message']}"
        print(f"    {state} {k}: margin {_num(c['margin'])}{extra}", file=out)
    print(f"  feasible: {'yes' if d['feasible'] else 'no'}", file=out)
