"""The design service: catalog -> design space -> optimization -> design records.

``design(...)`` is what the CLI, the web run manager and Dask tasks call. It resolves the
catalog (a path, an id in ``Settings.catalog_dir``, or a loaded :class:`Catalog`), checks
the customer's objectives and weights, builds the :class:`DesignSpace`, runs
:func:`configurator.engines.optimize.run_optimization` and, when nothing is feasible, lets the
infeasibility report probe which single requirement change would help.

Print estimates: a catalog whose objectives call ``print_seconds``/``print_grams`` is
evaluated with the learned model in use (:func:`configurator.services.estimate.service.catalog_estimator`:
the refit under ``data_dir/estimate`` when there is one, else the shipped model), unless an
``estimator`` is passed; ``model_dir`` picks the model's directory explicitly (what a worker
process receives, as plain text). The records carry the estimator's identity.

``DesignRequest`` is the same call as a plain, picklable model (one Dask task per
request, :func:`run_many`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from configurator.engines.optimize import (
    OptimizationResult,
    ProgressEvent,
    RequirementProbe,
    RequirementSpec,
    run_optimization,
)
from configurator.errors import RequirementsError


class DesignRequest(BaseModel):
    """One optimization run, as data (for Dask tasks and the web run manager)."""

    catalog: str = Field(description="catalog path or id (looked up in catalog_dir)")
    requirements: dict[str, Any] = Field(default_factory=dict)
    locks: dict[str, Any] = Field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    objectives: list[str] | None = None
    weights: list[float] | None = None
    material: str | None = None
    algorithm: str | None = None
    evals: int = 5000
    seed: int = 0
    top: int = 5
    time_cap_s: float | None = None
    catalog_dir: str | None = None
    model_dir: str | None = Field(
        default=None, description="print-time model directory (None: the one Settings picks)"
    )


def resolve_catalog(catalog: Any, *, catalog_dir: str | Path | None = None) -> Any:
    """A loaded catalog from a ``Catalog``, a YAML path, or an id in ``catalog_dir``.

    Raises ``CatalogError`` (bad file) or ``RequirementsError`` (unknown id).
    """
    from configurator.adapters.catalog_yaml import find_catalog
    from configurator.core.catalog.model import Catalog

    if isinstance(catalog, Catalog):
        return catalog
    text = str(catalog)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") and not path.is_file():
        raise RequirementsError({"catalog": f"no such catalog file: {text}"})
    if catalog_dir is None:
        from configurator.settings import Settings

        catalog_dir = Settings().catalog_dir
    return find_catalog(text, catalog_dir)


def space_estimator(
    catalog: Any, *, settings: Any = None, model_dir: str | Path | None = None
) -> Any:
    """The print estimator for ``catalog``'s host functions: the learned model in
    ``model_dir`` (default: the model ``settings`` — or ``Settings()`` — uses); None when
    the catalog calls no host function (nothing to load)."""
    if not catalog.program.host_calls:
        return None
    from configurator.services.estimate.service import catalog_estimator, learned_estimator

    if model_dir is not None:
        return learned_estimator(model_dir, catalog)
    if settings is None:
        from configurator.settings import Settings

        settings = Settings()
    return catalog_estimator(settings, catalog)


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
) -> Any:
    """The :class:`DesignSpace` for a customer's input (it validates every field, text
    values from a command line included, and raises ``RequirementsError``).

    ``estimator``: the print estimator for host functions (default: :func:`space_estimator`,
    the learned model ``settings`` picks)."""
    from configurator.core.design.space import DesignSpace

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
    """Optimize a catalog for a customer's requirements; see :func:`run_optimization`.

    ``catalog``: a ``Catalog``, a YAML path or a catalog id. Requirements left out take
    the catalog's defaults. Returns the result (status ok / infeasible / cancelled); bad
    input raises :class:`RequirementsError` or :class:`OptimizationError`.
    ``estimator`` / ``model_dir`` / ``settings``: the print estimator of host functions
    (see the module docstring; default: the learned model in use).
    """
    cat = resolve_catalog(catalog, catalog_dir=catalog_dir)
    if estimator is None:
        estimator = space_estimator(cat, settings=settings, model_dir=model_dir)
    space_kwargs = {
        "locks": locks,
        "bounds": bounds,
        "objectives": objectives,
        "weights": weights,
        "material": material,
        "estimator": estimator,
    }
    space = build_space(cat, requirements=requirements, **space_kwargs)
    return run_optimization(
        space,
        algorithm=algorithm,
        evals=evals,
        seed=seed,
        top=top,
        time_cap_s=time_cap_s,
        on_progress=on_progress,
        should_stop=should_stop,
        requirement_probe=requirement_probe(space, space_kwargs),
    )


def run_request(request: DesignRequest) -> OptimizationResult:
    """Run one :class:`DesignRequest` (the Dask task; importable on every worker)."""
    return design(
        request.catalog,
        requirements=request.requirements,
        locks=request.locks,
        bounds=request.bounds,
        objectives=request.objectives,
        weights=request.weights,
        material=request.material,
        algorithm=request.algorithm,
        evals=request.evals,
        seed=request.seed,
        top=request.top,
        time_cap_s=request.time_cap_s,
        catalog_dir=request.catalog_dir,
        model_dir=request.model_dir,
    )


def run_many(
    requests: Sequence[DesignRequest], *, client_or_address: Any
) -> list[OptimizationResult]:
    """Run independent requests on a Dask cluster, one task each, results in order.

    ``client_or_address``: a ``distributed.Client`` or a scheduler address
    (``tcp://host:8786``). Catalog paths must be readable on the workers.
    """
    from configurator.adapters.dask_runner import map_runs

    return map_runs(run_request, list(requests), client_or_address=client_or_address)


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
) -> list[Path]:
    """Write the run's files under ``out_dir``; returns their paths (designs.json first).

    ok / cancelled: ``designs.json``; with ``fmt`` (``stl`` | ``3mf``) also one mesh file
    per part per design, built and checked by the geometry service
    (``<id12>-<part>.<fmt>``), and each record's ``mesh``/``files`` filled. ``catalog``
    (object, path or id) is needed for meshes. infeasible: ``infeasibility.json``.
    """
    from configurator.adapters.storage import write_bytes_atomic

    out = Path(out_dir)
    if result.status == "infeasible" and result.infeasibility is not None:
        data = result.infeasibility.model_dump(mode="json")
        raw = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
        return [write_bytes_atomic(out / "infeasibility.json", raw)]
    meshes: list[Path] = []
    if fmt is not None and result.records:
        from configurator.services.geometry import attach_meshes

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
