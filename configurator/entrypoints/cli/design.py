"""``configurator design CATALOG --require NAME=VALUE... --out DIR``: optimize and write records.

Writes ``DIR/designs.json`` (the design records). Exit 2 on bad input (one line), exit 3
when no feasible design exists (the least violated constraints named, by how much, and
``DIR/infeasibility.json`` written). ``--farm URL`` (with the operator key: ``--farm-key``
or ``CONFIGURATOR_ADMIN_KEY``) limits the run to what that farm can make — its materials,
a plate that fits one of its printers — and writes ``DIR/farm.json`` (what the run
depended on); without it, the catalog's own ``printers:`` apply. Progress on stderr: a bar on a terminal, else a
compact line every ~10 % of the budget.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from configurator.entrypoints.cli import RegistryChoices, int_in_range
from configurator.errors import InfeasibleError, RequirementsError

#: evaluation budget ceiling for the command line (the API has its own, lower limit)
MAX_CLI_EVALS = 10_000_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design",
        help="optimize a catalog for requirements and write design records",
        description="Optimize a catalog for a customer's requirements; writes DIR/designs.json.",
    )
    p.add_argument("catalog", metavar="CATALOG", help="catalog YAML path or catalog id")
    many = {"nargs": "+", "action": "extend", "default": []}
    p.add_argument(
        "--require", metavar="NAME=VALUE", help="a requirement (default: catalog's)", **many
    )
    p.add_argument("--lock", metavar="NAME=VALUE", help="fix a parameter", **many)
    p.add_argument(
        "--bound",
        "--bounds",
        dest="bound",
        metavar="NAME=LO:HI",
        help="narrow a parameter's range",
        **many,
    )
    p.add_argument("--objective", metavar="NAME", help="objective(s) to optimize", **many)
    p.add_argument(
        "--weights",
        nargs="+",
        metavar="W",
        default=None,
        help="weights for a weighted sum of the objectives (same order, or NAME=W)",
    )
    p.add_argument("--material", default=None, help="fix the material (default: searched)")
    p.add_argument(
        "--algorithm",
        choices=RegistryChoices("configurator.engines.optimize.algorithms", "ALGORITHM_NAMES"),
        default=None,
        metavar="NAME",
        help="one of %(choices)s (default: nsga2 for several objectives, else ga)",
    )
    p.add_argument(
        "--evals",
        type=int_in_range(1, MAX_CLI_EVALS),
        default=5000,
        help=f"evaluation budget (default 5000, at most {MAX_CLI_EVALS:,})",
    )
    p.add_argument(
        "--time-cap",
        type=float,
        default=None,
        metavar="S",
        help="wall-clock cap in seconds (a capped run is not reproducible)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=5, help="designs to return (default 5)")
    p.add_argument(
        "--format",
        choices=RegistryChoices("configurator.core.export", "FORMATS"),
        default=None,
        metavar="FORMAT",
        help="also write one mesh file per part per design: %(choices)s",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run on a Dask scheduler (default: setting dask_address, else here)",
    )
    p.add_argument(
        "--farm",
        metavar="URL",
        default=None,
        help="limit the run to what this farm server can make (its capability view)",
    )
    p.add_argument(
        "--farm-key",
        metavar="KEY",
        default=None,
        help="the farm's operator key (default: environment CONFIGURATOR_ADMIN_KEY)",
    )
    p.add_argument("--catalog-dir", default=None, help="where catalog ids are looked up")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=run)


def _pairs(items: list[str], *, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise RequirementsError({field: f"expected NAME=VALUE, got '{item}'"})
        if name.strip() in out:
            raise RequirementsError({f"{field}.{name.strip()}": "given twice"})
        out[name.strip()] = value.strip()
    return out


def _bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, text in _pairs(items, field="bound").items():
        lo, sep, hi = text.partition(":")
        try:
            if not sep:
                raise ValueError
            out[name] = (float(lo), float(hi))
        except ValueError:
            raise RequirementsError({f"bound.{name}": f"expected LO:HI, got '{text}'"}) from None
    return out


def _weights(
    items: list[str] | None, objectives: list[str]
) -> tuple[list[str], list[float] | None]:
    """Weights as numbers (aligned with --objective) or NAME=W pairs (which name them)."""
    if items is None:
        return objectives, None
    try:
        if all("=" in w for w in items):
            named = {k: float(v) for k, v in _pairs(items, field="weights").items()}
            if objectives and set(objectives) != set(named):
                raise RequirementsError({"weights": "NAME=W weights must name the --objective set"})
            names = objectives or list(named)
            return names, [named[n] for n in names]
        return objectives, [float(w) for w in items]
    except ValueError:
        raise RequirementsError({"weights": f"not numbers: {' '.join(items)}"}) from None


class _Progress:
    """Progress on stderr: rich bar on a TTY, else a line per ~10 % of the budget."""

    def __init__(self, *, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None
        self.next_mark = 0.1

    def __enter__(self) -> _Progress:
        if not self.quiet and self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]optimizing"),
                BarColumn(),
                TextColumn("{task.completed:>6.0f}/{task.total:.0f} evals"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("run", total=1, info="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, ev: Any) -> None:
        if self.quiet:
            return
        best = ", ".join(f"{k}={v:.4g}" for k, v in ev.best.items())
        info = f"feasible {ev.n_feasible}" + (f" | best {best}" if best else "")
        if ev.hypervolume is not None:
            info += f" | HV {ev.hypervolume:.4f}"
        if self.bar is not None:
            self.bar.update(self.task, completed=ev.evaluations, total=ev.budget, info=info)
        elif ev.fraction >= self.next_mark or ev.fraction >= 1.0:
            print(
                f"gen {ev.generation} evals {ev.evaluations}/{ev.budget} {info}",
                file=sys.stderr,
                flush=True,
            )
            while self.next_mark <= ev.fraction:
                self.next_mark += 0.1


def run(args: argparse.Namespace) -> int:
    from configurator.engines.optimize import OptimizationResult
    from configurator.services.design import service
    from configurator.services.design.request import RunContext, parse_request
    from configurator.settings import Settings

    objectives, weights = _weights(args.weights, list(args.objective))
    request = parse_request(
        {
            "catalog_id": _abs(args.catalog),
            "requirements": _pairs(args.require, field="require"),
            "locks": _pairs(args.lock, field="lock"),
            "bounds": _bounds(args.bound),
            "objectives": objectives or None,
            "weights": weights,
            "material": args.material,
            "algorithm": args.algorithm,
            "evals": args.evals,
            "seed": args.seed,
            "top": args.top,
        }
    )
    settings = Settings()
    catalog_dir = args.catalog_dir or str(settings.catalog_dir)
    farm = _farm_profile(args.farm, args.farm_key or settings.admin_key) if args.farm else None
    context = RunContext(catalog_dir=catalog_dir, time_cap_s=args.time_cap, farm=farm)
    _usable_out_dir(args.out)  # before the run, so a bad --out costs nothing
    address = args.dask or settings.dask_address
    result: OptimizationResult
    if address:
        if not args.quiet:
            print(f"configurator: running on Dask scheduler {address}", file=sys.stderr)
        (result,) = service.run_many([request], client_or_address=address, context=context)
    else:
        with _Progress(quiet=args.quiet) as progress:
            result = service.run_request(request, context, on_progress=progress)
    try:
        written = service.write_result(
            args.out,
            result,
            fmt=args.format,
            catalog=_abs(args.catalog),
            catalog_dir=catalog_dir,
            farm=farm,
        )
    except OSError as exc:
        raise RequirementsError({"out": f"cannot write to {args.out}: {exc.strerror}"}) from None
    if result.status == "infeasible":
        summary = result.infeasibility.summary if result.infeasibility else "no feasible design"
        raise InfeasibleError(
            summary.removeprefix("no feasible design "), report=result.infeasibility
        )
    s = result.stats
    print(
        f"configurator: {len(result.records)} design(s), {s.evaluations} evaluations, "
        f"{s.generations} generations, {s.seconds:.1f} s -> {written[0]}"
        + (f" (+{len(written) - 1} mesh files)" if len(written) > 1 else ""),
        file=sys.stderr,
    )
    return 0


def _farm_profile(url: str, key: str | None) -> Any:
    """The farm's capability view as a run's farm profile; one-line errors."""
    from configurator.adapters.farm_client import OperatorClient
    from configurator.errors import SettingsError

    if not url.startswith(("http://", "https://")):
        raise RequirementsError({"farm": f"expected an http(s) URL, got '{url}'"})
    if not key:
        raise SettingsError("--farm needs the operator key: --farm-key or CONFIGURATOR_ADMIN_KEY")
    with OperatorClient(url, key, retry_for_s=5.0, timeout_s=10.0) as client:
        return client.farm_profile()


def _usable_out_dir(path: str) -> None:
    """Create the --out directory (parents too); RequirementsError (field ``out``) when
    it cannot be created or written to."""
    import os
    from pathlib import Path

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise RequirementsError({"out": f"{path} is a file, not a directory"})
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RequirementsError({"out": f"cannot create {path}: {exc.strerror}"}) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise RequirementsError({"out": f"cannot write to {path}: permission denied"})


def _abs(catalog: str) -> str:
    from pathlib import Path

    p = Path(catalog)
    return str(p.resolve()) if p.exists() else catalog
