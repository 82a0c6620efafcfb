"""The design service: a design request -> design space -> optimization -> design records.

:func:`run_request` executes a :class:`~configurator.services.design.request.DesignRequest`
(what the CLI, the web run manager and Dask tasks call) in a
:class:`~configurator.services.design.request.RunContext`: it resolves the catalog,
builds the :class:`~configurator.core.design.space.DesignSpace` (which validates every
field), runs :func:`~configurator.engines.optimize.run_optimization` and, when nothing is
feasible, lets the infeasibility report probe which single requirement change would help.
:func:`design` is the same call with keyword arguments (and a loaded catalog allowed).

Print estimates: a catalog whose objectives call ``print_seconds``/``print_grams`` is
evaluated with the model in use (:func:`~configurator.services.estimate.service.catalog_estimator`:
the refit under ``data_dir/estimate`` when there is one, else the shipped model), unless an
``estimator`` is passed; ``RunContext.model_dir`` picks the model's directory explicitly (what
a worker process receives, as plain text). The records carry the estimator's identity.

A farm attached (``RunContext.farm``, a :class:`~configurator.core.farm.capability.FarmProfile`:
the server's own farm, or ``configurator design --farm URL``) limits the run to what that
farm can make (:class:`~configurator.core.design.space.DesignSpace`); a catalog none of whose
materials the farm prints ends ``infeasible`` at once, the report naming what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from configurator.adapters.dask_runner import map_runs
from configurator.adapters.storage import write_bytes_atomic
from configurator.core.design.farm_fit import FARM_CONSTRAINT, FarmFit
from configurator.core.design.space import DesignSpace
from configurator.core.farm.capability import FarmProfile
from configurator.engines.optimize import (
    OptimizationResult,
    ProgressEvent,
    RequirementProbe,
    RequirementSpec,
    run_optimization,
)
from configurator.engines.optimize.infeasibility import ConstraintViolation, InfeasibilityReport
from configurator.engines.optimize.results import RunStats
from configurator.services.catalogs import resolve_catalog
from configurator.services.design.request import DesignRequest, RunContext, parse_request
from configurator.services.estimate.service import catalog_estimator, learned_estimator
from configurator.services.geometry import attach_meshes
from configurator.settings import Settings

__all__ = [
    "DesignRequest",
    "parse_request",
    "RunContext",
    "build_space",
    "design",
    "designs_json",
    "requirement_probe",
    "resolve_catalog",
    "run_many",
    "run_request",
    "space_estimator",
    "write_result",
]


def space_estimator(
    catalog: Any, *, settings: Any = None, model_dir: str | Path | None = None
) -> Any:
    """The print estimator for ``catalog``'s host functions: the learned model in
    ``model_dir`` (default: the model ``settings`` — or ``Settings()`` — uses); None when
    the catalog calls no host function (nothing to load)."""
    if not catalog.program.host_calls:
        return None
    if model_dir is not None:
        return learned_estimator(model_dir, catalog)
    return catalog_estimator(settings if settings is not None else Settings(), catalog)


def build_space(
    catalog: Any,
    *,
    requirements: Mapping[str, Any] | None = None,
    locks: Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    objectives: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    material: str | None = None,
    estimator: Any = None,
    settings: Any = None,
    farm: FarmProfile | None = None,
) -> Any:
    """The :class:`DesignSpace` for a customer's input (it validates every field, text
    values from a command line included, and raises ``RequirementsError``).

    ``estimator``: the print estimator for host functions (default: :func:`space_estimator`,
    the learned model ``settings`` picks). ``farm``: limit the space to what it can make."""
    if estimator is None:
        estimator = space_estimator(catalog, settings=settings)
    return DesignSpace(
        catalog,
        requirements=dict(requirements or {}),
        locks=dict(locks or {}),
        bounds=dict(bounds or {}),
        objectives=list(objectives) if objectives else None,
        weights=list(weights) if weights is not None else None,
        material=material,
        estimator=estimator,
        farm=farm,
    )


def farm_blocks(catalog: Any, request: DesignRequest, farm: FarmProfile | None) -> str | None:
    """Why ``farm`` can make nothing of ``catalog`` for ``request`` (customer words), or
    None: no farm, the request fixes a material (its availability is a field error), or
    some material is available."""
    if farm is None or request.material is not None or "material" in request.locks:
        return None
    fit = FarmFit(catalog, farm)
    if fit.available:
        return None
    return "our farm cannot make this product now: " + "; ".join(fit.unavailable_reasons())


def _farm_infeasible(request: DesignRequest, catalog: Any, reason: str) -> OptimizationResult:
    """The result of a run whose catalog the farm cannot make at all (nothing evaluated)."""
    names = list(request.objectives or catalog.objectives)
    algorithm = request.algorithm or ("nsga2" if len(names) > 1 and not request.weights else "ga")
    return OptimizationResult(
        status="infeasible",
        objective_names=names,
        infeasibility=InfeasibilityReport(
            summary=reason[0].upper() + reason[1:] + ".",
            evaluations=0,
            violations=[
                ConstraintViolation(
                    name=FARM_CONSTRAINT, message=reason, margin=-1.0, violation=1.0
                )
            ],
            least_violating={},
        ),
        stats=RunStats(
            algorithm=algorithm,
            seed=request.seed,
            budget=request.evals,
            evaluations=0,
            generations=0,
            pop_size=0,
            n_feasible=0,
            stopped_by="evals",
            seconds=0.0,
        ),
    )


def requirement_probe(space: Any, space_kwargs: dict[str, Any]) -> RequirementProbe:
    """How the infeasibility report may vary each requirement of ``space`` (one at a time)."""
    catalog = space.catalog
    current = dict(space.requirements)
    specs = []
    for name, spec in catalog.requirements.items():
        if name not in current:
            continue
        specs.append(
            RequirementSpec(
                name=name,
                type=spec.type,
                current=current[name],
                min=spec.min,
                max=spec.max,
                options=list(spec.options) if spec.options else None,
                unit=spec.unit,
                label=spec.label,
            )
        )

    def factory(overrides: Mapping[str, Any]) -> Any:
        return build_space(catalog, requirements={**current, **dict(overrides)}, **space_kwargs)

    return RequirementProbe(factory=factory, requirements=specs)


def design(
    catalog: Any,
    *,
    requirements: Mapping[str, Any] | None = None,
    locks: Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    objectives: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    material: str | None = None,
    algorithm: str | None = None,
    evals: int = 5000,
    seed: int = 0,
    top: int = 5,
    time_cap_s: float | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    catalog_dir: str | Path | None = None,
    estimator: Any = None,
    model_dir: str | Path | None = None,
    settings: Any = None,
) -> OptimizationResult:
    """Optimize a catalog for a customer's requirements: :func:`run_request` with keyword
    arguments. ``catalog``: a ``Catalog``, a YAML path or a catalog id. Bad input raises
    :class:`~configurator.errors.RequirementsError` (one entry per field) or
    :class:`~configurator.errors.OptimizationError`."""
    cat = resolve_catalog(catalog, catalog_dir=catalog_dir)
    request = parse_request(
        {
            "catalog_id": cat.id,
            "requirements": dict(requirements or {}),
            "locks": dict(locks or {}),
            "bounds": dict(bounds or {}),
            "objectives": list(objectives) if objectives else None,
            "weights": list(weights) if weights is not None else None,
            "material": material,
            "algorithm": algorithm,
            "evals": evals,
            "seed": seed,
            "top": top,
        }
    )
    context = RunContext(
        catalog_dir=None if catalog_dir is None else str(catalog_dir),
        model_dir=None if model_dir is None else str(model_dir),
        time_cap_s=time_cap_s,
    )
    return run_request(
        request,
        context,
        catalog=cat,
        on_progress=on_progress,
        should_stop=should_stop,
        estimator=estimator,
        settings=settings,
    )


def run_request(
    request: DesignRequest,
    context: RunContext | None = None,
    *,
    catalog: Any = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    estimator: Any = None,
    settings: Any = None,
) -> OptimizationResult:
    """Execute one request (a Dask task, a run-manager worker, the command line).

    The catalog: ``catalog`` (loaded) if given, else ``context.catalog_path``, else
    ``request.catalog_id`` looked up in ``context.catalog_dir``. Returns the result
    (status ok / infeasible / cancelled).
    """
    context = context or RunContext()
    cat = catalog
    if cat is None:
        cat = resolve_catalog(
            context.catalog_path or request.catalog_id, catalog_dir=context.catalog_dir
        )
    blocked = farm_blocks(cat, request, context.farm)
    if blocked is not None:
        return _farm_infeasible(request, cat, blocked)
    if estimator is None:
        estimator = space_estimator(cat, settings=settings, model_dir=context.model_dir)
    space_kwargs = {
        "locks": request.locks,
        "bounds": request.bounds,
        "objectives": request.objectives,
        "weights": request.weights,
        "material": request.material,
        "estimator": estimator,
        "farm": context.farm,
    }
    space = build_space(cat, requirements=request.requirements, **space_kwargs)
    return run_optimization(
        space,
        algorithm=request.algorithm,
        evals=request.evals,
        seed=request.seed,
        top=request.top,
        time_cap_s=context.time_cap_s,
        on_progress=on_progress,
        should_stop=should_stop,
        requirement_probe=requirement_probe(space, space_kwargs),
    )


def _run_pair(pair: tuple[DesignRequest, RunContext]) -> OptimizationResult:
    return run_request(*pair)


def run_many(
    requests: Sequence[DesignRequest],
    *,
    client_or_address: Any,
    context: RunContext | None = None,
) -> list[OptimizationResult]:
    """Run independent requests on a Dask cluster, one task each, results in order.

    ``client_or_address``: a ``distributed.Client`` or a scheduler address
    (``tcp://host:8786``). Catalog paths (and ``context.catalog_dir``) must be readable on
    the workers.
    """
    ctx = context or RunContext()
    return map_runs(_run_pair, [(r, ctx) for r in requests], client_or_address=client_or_address)


def designs_json(result: OptimizationResult) -> bytes:
    """``designs.json`` bytes: the list of design records (deterministic, UTF-8, newline)."""
    records = [r.model_dump(mode="json") if hasattr(r, "model_dump") else r for r in result.records]
    return (json.dumps(records, indent=2, ensure_ascii=False) + "\n").encode()


def write_result(
    out_dir: str | Path,
    result: OptimizationResult,
    *,
    fmt: str | None = None,
    catalog: Any = None,
    catalog_dir: str | Path | None = None,
    settings: Any = None,
    farm: FarmProfile | None = None,
) -> list[Path]:
    """Write the run's files under ``out_dir``; returns their paths (designs.json first).

    ``farm``: the farm the run was limited to, written as ``farm.json`` (what the result
    depended on; the records carry its fingerprint).

    ok / cancelled: ``designs.json``; with ``fmt`` (``stl`` | ``3mf``) also one mesh file
    per part per design, built and checked by the geometry service
    (``<id12>-<part>.<fmt>``), and each record's ``mesh``/``files`` filled. ``catalog``
    (object, path or id) is needed for meshes. infeasible: ``infeasibility.json``.
    """
    out = Path(out_dir)
    if farm is not None:
        data = {"fingerprint": farm.fingerprint, **farm.model_dump(mode="json")}
        write_bytes_atomic(out / "farm.json", (json.dumps(data, indent=2) + "\n").encode())
    if result.status == "infeasible" and result.infeasibility is not None:
        data = result.infeasibility.model_dump(mode="json")
        raw = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
        return [write_bytes_atomic(out / "infeasibility.json", raw)]
    meshes: list[Path] = []
    if fmt is not None and result.records:
        cat = resolve_catalog(
            catalog if catalog is not None else result.records[0].catalog_id,
            catalog_dir=catalog_dir,
        )
        records = attach_meshes(
            result.records, catalog=cat, fmt=fmt, out_dir=out, settings=settings
        )
        result = result.model_copy(update={"records": records})
        meshes = [out / f for r in records for f in r.files.values()]
    return [write_bytes_atomic(out / "designs.json", designs_json(result)), *meshes]
