"""``configurator estimate train|evaluate|mesh``: the print-time/material estimator.

* ``train`` refits the shipped model on the slicer data set (cross-validating it first),
  or with ``--from-history`` refits on the farm's completed jobs (slicer data as prior),
  calibrates each node's speed and writes the refit under ``data_dir/estimate``.
* ``evaluate`` prints the cross-validated MAPE (held-out designs) next to the naive
  baseline, for print seconds and grams.
* ``mesh FILE`` estimates one STL/3MF file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="print-time / material estimator: train, evaluate")
    cmds = p.add_subparsers(dest="estimate_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _usage(p))

    t = cmds.add_parser("train", help="refit the estimator (slicer data set or farm history)")
    _data_options(t)
    t.add_argument("--out", type=Path, default=None, help="model directory (default: package)")
    t.add_argument("--no-eval", action="store_true", help="skip the cross-validation report")
    h = t.add_argument_group("learning from the farm")
    h.add_argument("--from-history", action="store_true", help="refit on completed farm jobs")
    h.add_argument("--database", default=None, help="farm store URL (default: settings)")
    h.add_argument("--data-dir", type=Path, default=None, help="settings data_dir override")
    h.add_argument("--history-weight", type=float, default=None, help="weight per job (5)")
    h.add_argument("--min-jobs", type=int, default=None, help="jobs per node to calibrate (3)")
    h.add_argument("--no-apply-speeds", action="store_true", help="report speeds only")
    t.set_defaults(func=run_train)

    e = cmds.add_parser("evaluate", help="cross-validated MAPE vs the naive baseline")
    _data_options(e)
    e.set_defaults(func=run_evaluate)

    m = cmds.add_parser("mesh", help="estimate one STL/3MF file")
    m.add_argument("file", type=Path)
    m.add_argument("--material", default="PLA", help="material (default PLA)")
    m.add_argument("--catalog", default=None, help="take the material's cost from this catalog")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_mesh)


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="data set CSV (default: committed)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} %"


def render_report(report: dict[str, Any]) -> str:
    """The MAPE table as text (model vs baseline per target, then per material/source)."""
    lines = [
        f"cross-validated on held-out designs: {report['folds']} folds, "
        f"{report['rows']} rows, {report['designs']} designs (seed {report['seed']})",
        f"{'target':<9}{'model MAPE':>12}{'P90':>9}{'baseline MAPE':>16}{'baseline/model':>16}",
    ]
    for t in ("seconds", "grams"):
        r = report[t]
        lines.append(
            f"{t:<9}{_pct(r['model']['mape']):>12}{_pct(r['model']['p90_ape']):>9}"
            f"{_pct(r['baseline']['mape']):>16}{r['ratio']:>15.1f}x"
        )
    for key in ("material", "catalog", "source"):
        name = f"mape_by_{key}"
        if name not in report["seconds"]["model"]:
            continue
        for t in ("seconds", "grams"):
            parts = ", ".join(f"{k} {_pct(v)}" for k, v in report[t]["model"][name].items())
            if parts:
                lines.append(f"  {t} by {key}: {parts}")
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from configurator.adapters.dataset import DATASET_PATH, load_dataset
    from configurator.engines.fitting.evaluate import cross_validate
    from configurator.engines.fitting.model import PrintRegressor

    ds = load_dataset(args.data or DATASET_PATH)
    report = cross_validate(
        ds.X,
        {"seconds": ds.seconds, "grams": ds.grams},
        groups=ds.group,
        materials=ds.material,
        labels={"catalog": ds.catalog, "source": ds.source},
        estimator=PrintRegressor(random_state=args.seed),
        folds=args.folds,
        seed=args.seed,
    )
    print(json.dumps(report, indent=2) if args.json else render_report(report))
    return 0


def _settings(args: argparse.Namespace):
    from configurator.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def run_train(args: argparse.Namespace) -> int:
    from configurator.services.estimate import service

    if args.from_history:
        report = service.retrain_from_history(
            _settings(args),
            history_weight=args.history_weight,
            min_jobs=args.min_jobs,
            apply_speeds=not args.no_apply_speeds,
            seed=args.seed,
        )
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
            return 0
        print(
            f"refitted on {report.used_for_refit} of {report.jobs} completed jobs "
            f"(+ the slicer data set as prior) -> {report.model_dir}"
        )
        if report.prior_mape is not None:
            print(
                f"on those jobs (speed-normalised): shipped model {_pct(report.prior_mape)}, "
                f"refit {_pct(report.refit_mape)} (in-sample)"
            )
        for node, f in sorted(report.speeds.items()):
            how = "calibrated" if f["changed"] else "kept (too few jobs)"
            print(
                f"  node {node}: speed {f['previous']:.3f} -> {f['speed']:.3f} "
                f"from {f['jobs']} jobs, {how}"
            )
        if report.speeds and not report.applied_speeds:
            print("speeds not written to the farm (--no-apply-speeds or nothing changed)")
        for p in report.problems:
            print(f"  skipped: {p}", file=sys.stderr)
        return 0

    result = service.train_from_dataset(
        dataset_path=args.data,
        out_dir=args.out,
        folds=args.folds,
        seed=args.seed,
        evaluate=not args.no_eval,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    tr = result["training"]
    print(
        f"trained on {tr['rows']} rows of {tr['dataset']} (sha256 {tr['sha256'][:12]}), "
        f"materials {', '.join(result['materials'])}"
    )
    if result["report"]:
        print(render_report(result["report"]))
    return 0


def run_mesh(args: argparse.Namespace) -> int:
    from configurator.adapters.db.history import load_job_mesh
    from configurator.errors import EstimateError
    from configurator.services.estimate import service

    settings = _settings(args)
    mesh = load_job_mesh(args.file)
    if args.catalog:
        from configurator.services.design.service import resolve_catalog

        catalog = resolve_catalog(args.catalog, catalog_dir=settings.catalog_dir)
        if args.material not in catalog.materials:
            raise EstimateError(
                f"catalog {catalog.id!r} has no material {args.material!r} "
                f"(has: {', '.join(sorted(catalog.materials))})"
            )
        spec = catalog.materials[args.material]
    else:
        from types import SimpleNamespace

        from configurator.adapters.slicer import SlicerProfile

        conf = SlicerProfile.bundled(args.material).settings()
        spec = SimpleNamespace(
            density=float(conf["filament_density"]),
            cost_per_kg=float(conf["filament_cost"]),
            technology="FDM",
        )
    est = service.estimate_meshes(
        {args.file.stem: mesh}, material=args.material, spec=spec, settings=settings
    )
    if args.json:
        print(json.dumps(est.as_dict(), indent=2))
        return 0
    h, rem = divmod(int(round(est.seconds)), 3600)
    b = est.breakdown
    print(
        f"{args.file.name}: {h}h {rem // 60:02d}m, {est.grams:.1f} g {est.material} "
        f"(profile {est.profile}, {est.method}); price {est.price:.2f} {est.currency} "
        f"= material {b.material:.2f} + machine {b.machine:.2f} + setup {b.setup:.2f}"
    )
    return 0
