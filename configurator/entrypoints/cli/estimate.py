"""``configurator estimate train|evaluate|mesh``: the print-time/material estimators.

* ``evaluate`` reports, per technology (FDM, SLA, SLM), the MAPE of time and material on
  shape families held out of training (leave one family out), the MAPE per family, the
  worst part and the naive baseline beside each.
* ``train`` refits a technology's shipped model on its data set (evaluating it first), or
  with ``--from-history`` refits every technology on the farm's completed jobs (data sets
  as prior), calibrates each node's speed and writes the refits under ``data_dir/estimate``.
* ``mesh FILE --material M`` estimates one STL/3MF file with M's technology.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from configurator.entrypoints.cli import RegistryChoices
from configurator.errors import EstimateError

TECHS = RegistryChoices("configurator.services.estimate.technologies", "TECHNOLOGIES")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="print-time / material estimators: train, evaluate, mesh")
    cmds = p.add_subparsers(dest="estimate_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _usage(p))

    t = cmds.add_parser("train", help="refit an estimator (data set or farm history)")
    _data_options(t)
    t.add_argument("--out", type=Path, default=None, help="model directory (default: package)")
    t.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    h = t.add_argument_group("learning from the farm")
    h.add_argument("--from-history", action="store_true", help="refit on completed farm jobs")
    h.add_argument("--database", default=None, help="farm store URL (default: settings)")
    h.add_argument("--data-dir", type=Path, default=None, help="settings data_dir override")
    h.add_argument("--history-weight", type=float, default=None, help="weight per job (5)")
    h.add_argument("--min-jobs", type=int, default=None, help="jobs per node to calibrate (3)")
    h.add_argument("--no-apply-speeds", action="store_true", help="report speeds only")
    t.set_defaults(func=run_train)

    e = cmds.add_parser("evaluate", help="held-out-family MAPE vs the naive baseline")
    _data_options(e)
    e.set_defaults(func=run_evaluate)

    m = cmds.add_parser("mesh", help="estimate one STL/3MF file")
    m.add_argument("file", type=Path)
    m.add_argument("--material", default="PLA", help="material (default PLA)")
    m.add_argument("--catalog", default=None, help="take the material from this catalog")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=run_mesh)


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--technology",
        choices=TECHS,
        default=None,
        metavar="TECH",
        help="one of %(choices)s (default: train FDM; evaluate all)",
    )
    p.add_argument("--data", type=Path, default=None, help="data set CSV (default: committed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} %"


def render_report(report: dict[str, Any]) -> str:
    """One technology's held-out table as text: model vs baseline per target, per family."""
    lines = [
        f"{report['technology']}: {report['rows']} rows, {len(report['families'])} shape "
        f"families, each held out in turn ({report['split']})",
        f"  {'target':<9}{'model MAPE':>12}{'P90':>9}{'baseline MAPE':>16}{'baseline/model':>16}"
        f"   worst part",
    ]
    for t in ("seconds", "grams"):
        r = report[t]
        m = r["model"]
        lines.append(
            f"  {t:<9}{_pct(m['mape']):>12}{_pct(m['p90_ape']):>9}"
            f"{_pct(r['baseline']['mape']):>16}{r['ratio']:>15.1f}x   "
            f"{m['worst_part']} {_pct(m['max_ape'])}"
        )
    host = report.get("closed_form")
    if host:
        lines.append(
            "  host functions (closed-form features, no mesh): "
            + ", ".join(
                f"{t} {_pct(host[t]['mape'])} (worst {host[t]['worst_part']} "
                f"{_pct(host[t]['max_ape'])})"
                for t in ("seconds", "grams")
            )
        )
    for t in ("seconds", "grams"):
        fam = report[t]["model"]["by_family"]
        base = report[t]["baseline"]["by_family"]
        parts = ", ".join(
            f"{k} {_pct(v['mape'])} (base {_pct(base[k]['mape'])})" for k, v in fam.items()
        )
        lines.append(f"  {t} by family: {parts}")
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    from configurator.services.estimate import training

    techs = [args.technology] if args.technology else list(TECHS)
    if args.data and len(techs) > 1:
        raise EstimateError("--data needs --technology (one data set per technology)")
    reports = {
        t: training.evaluate_technology(t, dataset_path=args.data, seed=args.seed) for t in techs
    }
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        print("\n".join(render_report(r) for r in reports.values()))
    return 0


def _settings(args: argparse.Namespace) -> Any:
    from configurator.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def _print_history(report: Any) -> None:
    print(
        f"refitted on {report.used_for_refit} of {report.jobs} completed jobs "
        f"({', '.join(f'{t} {n}' for t, n in report.technologies.items()) or 'none'}; "
        f"data sets as prior) -> {report.model_dir}"
    )
    if report.prior_mape is not None:
        print(
            f"on those jobs (speed-normalised): shipped models {_pct(report.prior_mape)}, "
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


def run_train(args: argparse.Namespace) -> int:
    from configurator.services.estimate import training

    if args.from_history:
        report = training.retrain_from_history(
            _settings(args),
            history_weight=args.history_weight,
            min_jobs=args.min_jobs,
            apply_speeds=not args.no_apply_speeds,
            seed=args.seed,
        )
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
        else:
            _print_history(report)
        return 0
    result = training.train_from_dataset(
        technology_name=args.technology or "FDM",
        dataset_path=args.data,
        out_dir=args.out,
        seed=args.seed,
        evaluate=not args.no_eval,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    tr = result["training"]
    print(
        f"trained {result['technology']} on {tr['rows']} rows of {tr['dataset']} "
        f"(sha256 {tr['sha256'][:12]}), profiles {', '.join(result['materials'])}"
    )
    if result["report"]:
        print(render_report(result["report"]))
    return 0


def run_mesh(args: argparse.Namespace) -> int:
    from configurator.adapters.db.history import load_job_mesh
    from configurator.services.catalogs import resolve_catalog
    from configurator.services.estimate import service

    settings = _settings(args)
    mesh = load_job_mesh(args.file)
    if args.catalog:
        catalog = resolve_catalog(args.catalog, catalog_dir=settings.catalog_dir)
        if args.material not in catalog.materials:
            raise EstimateError(
                f"catalog {catalog.id!r} has no material {args.material!r} "
                f"(has: {', '.join(sorted(catalog.materials))})"
            )
        spec = catalog.materials[args.material]
    else:
        spec = service.material_spec(args.material, settings)
    est = service.estimate_meshes(
        {args.file.stem: mesh}, material=args.material, spec=spec, settings=settings
    )
    if args.json:
        print(json.dumps(est.as_dict(), indent=2))
        return 0
    h, rem = divmod(int(round(est.seconds)), 3600)
    b = est.breakdown
    print(
        f"{args.file.name}: {est.technology}, {h}h {rem // 60:02d}m, {est.grams:.1f} g "
        f"{est.material} (profile {est.profile}, {est.method}); price {est.price:.2f} "
        f"{est.currency} = material {b.material:.2f} + machine {b.machine:.2f} + setup "
        f"{b.setup:.2f} + post-processing {b.post_processing:.2f}"
    )
    return 0
