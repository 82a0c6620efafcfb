"""``configurator catalog list | check [PATH...] | schema``.

* ``list`` — the catalogs in the catalog directory (``CONFIGURATOR_CATALOG_DIR``).
* ``check`` — validate files (default: every catalog in the directory); prints
  ``PATH:LINE:COL: message`` per problem and exits 1 when there is any, 0 otherwise. A valid
  catalog is then evaluated as the optimizer does (a derived value, objective, constraint
  margin or volume non-finite at the defaults or at every sampled design is a problem at its
  expression), and has meshes built for ``--mesh-samples`` (3) seeded designs and checked
  (a volume formula that disagrees with the mesh points at the ``volume:`` line).
* ``schema`` — the JSON Schema of the catalog format (for editors; see docs/catalog.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from configurator.entrypoints.cli import int_in_range


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="list, check and describe product catalogs")
    csub = p.add_subparsers(dest="catalog_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda args: _usage(p))

    pl = csub.add_parser("list", help="list the catalogs in the catalog directory")
    pl.add_argument("--dir", type=Path, default=None, help="catalog directory (default: settings)")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=run_list)

    pc = csub.add_parser("check", help="validate catalog files; exit 1 when any has problems")
    pc.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories")
    pc.add_argument(
        "--mesh-samples",
        type=int_in_range(0, 100),
        default=3,
        metavar="N",
        help="also build and check meshes of N seeded sample designs per catalog (0: skip)",
    )
    pc.set_defaults(func=run_check)

    ps = csub.add_parser("schema", help="print the catalog JSON Schema")
    ps.set_defaults(func=run_schema)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _catalog_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from configurator.settings import Settings

    return Settings().catalog_dir


def run_list(args: argparse.Namespace) -> int:
    from configurator.adapters.catalog_yaml import load_catalogs

    catalogs = load_catalogs(_catalog_dir(args.dir))
    rows = [
        {
            "id": c.id,
            "name": c.name,
            "version": c.version,
            "generator": c.generator,
            "parameters": len(c.parameters),
            "objectives": list(c.objectives),
            "materials": list(c.materials),
            "path": str(c.path),
        }
        for c in catalogs.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no catalogs", file=sys.stderr)
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        print(
            f"{r['id']:<{width}}  v{r['version']:<8} {r['name']} "
            f"({r['parameters']} parameters; objectives: {', '.join(r['objectives'])})"
        )
    return 0


def run_check(args: argparse.Namespace) -> int:
    from configurator.adapters.catalog_yaml import catalog_paths, check_paths
    from configurator.errors import CatalogError

    targets = args.paths or [_catalog_dir(None)]
    files: list[Path] = []
    problems = []
    for target in targets:
        if target.is_dir():
            try:
                files.extend(catalog_paths(target))
            except CatalogError as exc:
                problems.extend(exc.problems)
        else:
            files.append(target)
    results = check_paths(files)
    bad = 0
    for path, found in results.items():
        if not found:
            found = _evaluation_problems(path)
        if not found and getattr(args, "mesh_samples", 0) > 0:
            found = _mesh_problems(path, args.mesh_samples)
        if found:
            bad += 1
            problems.extend(found)
        else:
            print(f"{path}: ok", file=sys.stderr)
    for problem in sorted(problems):
        print(problem)
    sys.stdout.flush()
    if problems:
        n = len(problems)
        print(
            f"{n} problem{'s' if n != 1 else ''} in {max(bad, 1)} file{'s' if bad > 1 else ''}",
            file=sys.stderr,
        )
        return 1
    if not files:
        print("no catalog files found", file=sys.stderr)
        return 1
    return 0


def _evaluation_problems(path: Path) -> list:
    """The catalog evaluated as the optimizer does: an expression that is non-finite at the
    defaults or at every sampled design is a problem at its line."""
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.services.catalog_check import check_catalog_evaluation

    return check_catalog_evaluation(load_catalog(path))


def _mesh_problems(path: Path, samples: int) -> list:
    """Mesh checks of seeded sample designs (geometry service): a wrong ``volume:`` formula
    or a shape that fails a check shows up here as ``PATH:LINE:COL: message``."""
    from configurator.adapters.catalog_yaml import load_catalog
    from configurator.services.catalog_check import check_catalog_meshes

    return check_catalog_meshes(load_catalog(path), samples=samples, seed=0)


def run_schema(args: argparse.Namespace) -> int:
    from configurator.core.catalog.model import catalog_json_schema

    sys.stdout.write(json.dumps(catalog_json_schema(), indent=2) + "\n")
    return 0
