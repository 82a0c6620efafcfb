"""The design space: a catalog plus one customer's requirements, ready for an optimizer.

``DesignSpace(catalog, requirements=..., locks=..., bounds=..., objectives=..., weights=...,
material=...)`` validates the customer input (every bad field at once, as
:class:`~configurator.errors.RequirementsError` ``fields``), fixes the requirements and locked
parameters, and exposes the remaining *variables* with bounds. Choices (and ``material``,
and bools) are encoded as integer indices ``0..k-1`` so GA, PSO and NSGA-II share one real
vector. :meth:`DesignSpace.evaluate` maps a population matrix ``X (n, n_var)`` to objectives
(``F``, minimization form), constraint violations (``G``, ``<= 0`` satisfied), derived values
and feasibility in one vectorized call.

Catalogs whose expressions call a host function (``print_seconds``, ``print_grams``) need a
print estimator: ``DesignSpace(..., estimator=...)`` binds one (the service layer supplies the
learned model); without it the space uses
:class:`~configurator.core.design.estimator.AnalyticEstimator`. The estimator's ``identity`` goes
into every record of such a catalog (:attr:`DesignSpace.estimator_identity`).

Requirement values may be given as numbers, booleans or text (``"80"``, ``"true"``, ``"M3"``),
as they come from a command line or a web form.

A farm attached (``DesignSpace(..., farm=FarmProfile)``, :mod:`configurator.core.design.farm_fit`)
limits the search to what that farm can make: only the materials it prints are searched (a
locked material it does not print is an error on ``material``), ``printer.*`` reads the
farm's printers instead of the catalog's, and — when the catalog declares its ``plate`` —
the constraint :data:`~configurator.core.design.farm_fit.FARM_CONSTRAINT` asks the plate to
fit a printer of the farm that prints the design's material. Records then carry the farm's
fingerprint (``farm``): the result depended on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from configurator.core.catalog.expressions import ESTIMATOR_KEY
from configurator.core.catalog.model import Catalog
from configurator.core.catalog.program import PRINTER_TABLE_KEY
from configurator.core.design.estimator import AnalyticEstimator, PrintEstimator
from configurator.core.design.farm_fit import FARM_CONSTRAINT, FARM_MESSAGE, FarmFit
from configurator.core.design.inputs import (
    coerce,
    default_value,
    material_spec,
    resolve_bounds,
    resolve_locks,
    resolve_objectives,
    resolve_requirements,
    resolve_weights,
)
from configurator.core.design.record import (
    ConstraintValue,
    DesignRecord,
    ObjectiveValue,
    ParameterValue,
)
from configurator.core.design.variables import (
    MATERIAL,
    SNAP_DECIMALS,
    build_variables,
    decode_value,
    encode_value,
    env_value,
    natural,
)
from configurator.core.farm.capability import FarmProfile
from configurator.errors import OptimizationError, RequirementsError


@dataclass(frozen=True)
class Evaluation:
    """Result of :meth:`DesignSpace.evaluate` for ``n`` designs.

    ``X`` (n, n_var) the repaired population; ``F`` (n, n_obj) chosen objectives in
    minimization form (max objectives negated); ``G`` (n, n_con) ``-margin`` (pymoo: <= 0 is
    satisfied); ``objectives`` every catalog objective, natural sign; ``margins`` per
    constraint (>= 0 satisfied); ``derived`` every derived value and ``volume``; ``feasible``
    (n,) bool: every margin >= 0 and every value finite.
    """

    X: np.ndarray
    F: np.ndarray
    G: np.ndarray
    objectives: dict[str, np.ndarray]
    margins: dict[str, np.ndarray]
    derived: dict[str, np.ndarray]
    feasible: np.ndarray


class DesignSpace:
    """A catalog with one customer's requirements; see the module docstring."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        requirements: Mapping[str, Any] | None = None,
        locks: Mapping[str, Any] | None = None,
        bounds: Mapping[str, Sequence[Any]] | None = None,
        objectives: Sequence[str] | None = None,
        weights: Sequence[float] | None = None,
        material: str | None = None,
        estimator: PrintEstimator | None = None,
        farm: FarmProfile | None = None,
    ):
        self.catalog = catalog
        self.program = catalog.program
        #: the print estimator bound to host-function calls (None when the catalog calls none)
        self.estimator: PrintEstimator | None = None
        if self.program.host_calls:
            self.estimator = (
                estimator if estimator is not None else AnalyticEstimator.for_catalog(catalog)
            )
        errors: dict[str, str] = {}
        #: the attached farm (None: the catalog's own printers)
        self.farm = FarmFit(catalog, farm) if farm is not None else None
        self.requirements = resolve_requirements(catalog, requirements or {}, errors)
        self.locks = resolve_locks(catalog, locks or {}, material, errors)
        searched = self._farm_materials(errors)
        narrowed = resolve_bounds(catalog, bounds or {}, self.locks, errors)
        self.objective_names = resolve_objectives(catalog, objectives, errors)
        self.weights = resolve_weights(weights, len(self.objective_names), errors)
        if errors:
            raise RequirementsError(errors)
        self.material = self.locks.get(MATERIAL)
        self.senses = np.array(
            [1 if catalog.objectives[n].sense == "min" else -1 for n in self.objective_names]
        )
        self.constraint_names = [c.name for c in catalog.constraints]
        self._farm_constraint = self.farm is not None and self.program.plate is not None
        if self._farm_constraint:
            self.constraint_names.append(FARM_CONSTRAINT)
        self.variables = build_variables(catalog, self.locks, narrowed, errors, materials=searched)
        if errors:
            raise RequirementsError(errors)
        self.xl = np.array([v.lower for v in self.variables], dtype=float)
        self.xu = np.array([v.upper for v in self.variables], dtype=float)
        self._index = {v.name: i for i, v in enumerate(self.variables)}
        #: catalog material index of each option of the material variable (None: same)
        self._material_codes: np.ndarray | None = None
        if searched is not None and MATERIAL in self._index:
            names = list(catalog.materials)
            self._material_codes = np.array([names.index(m) for m in searched], dtype=np.intp)
        self._fixed = self._fixed_env()

    def _farm_materials(self, errors: dict[str, str]) -> tuple[str, ...] | None:
        """With a farm: the materials to search (a single one is locked); a locked material
        the farm does not print is an error on ``material``."""
        if self.farm is None:
            return None
        locked = self.locks.get(MATERIAL)
        if locked is not None:
            if not self.farm.availability[locked].available:
                errors[MATERIAL] = str(self.farm.availability[locked].reason)
            return None
        available = tuple(self.farm.available)
        if not available:
            errors[MATERIAL] = "; ".join(self.farm.unavailable_reasons())
            return None
        if len(available) == 1:
            self.locks[MATERIAL] = available[0]
            return None
        return available

    # ------------------------------------------------------------------ properties

    @property
    def farm_identity(self) -> str | None:
        """The attached farm's fingerprint (None without a farm)."""
        return None if self.farm is None else self.farm.fingerprint

    @property
    def estimator_identity(self) -> str | None:
        """The bound estimator's identity, or None when the catalog calls no host function."""
        return None if self.estimator is None else str(self.estimator.identity)

    @property
    def n_var(self) -> int:
        return len(self.variables)

    @property
    def n_obj(self) -> int:
        return len(self.objective_names)

    @property
    def n_con(self) -> int:
        return len(self.constraint_names)

    def describe(self) -> dict[str, Any]:
        """Plain data for display / JSON: requirements, locks, variables, objectives."""
        return {
            "catalog": {
                "id": self.catalog.id,
                "version": self.catalog.version,
                "hash": self.catalog.content_hash,
            },
            "requirements": {k: natural(v) for k, v in self.requirements.items()},
            "locks": {k: natural(v) for k, v in self.locks.items()},
            "variables": [
                {
                    "name": v.name,
                    "kind": v.kind,
                    "lower": v.lower,
                    "upper": v.upper,
                    "step": v.step,
                    "options": list(v.options) if v.options is not None else None,
                    "unit": v.unit,
                }
                for v in self.variables
            ],
            "objectives": [
                {
                    "name": n,
                    "sense": self.catalog.objectives[n].sense,
                    "unit": self.catalog.objectives[n].unit,
                }
                for n in self.objective_names
            ],
            "weights": self.weights,
            "constraints": list(self.constraint_names),
            "farm": None if self.farm is None else self.farm.fingerprint,
        }

    # ------------------------------------------------------------------ encoding

    def repair(self, X: np.ndarray) -> np.ndarray:
        """Round int/choice/bool, snap reals to their step, clip to bounds. Shape kept."""
        X = np.asarray(X, dtype=float)
        one = X.ndim == 1
        X2 = np.atleast_2d(X).copy()
        if X2.shape[1] != self.n_var:
            raise OptimizationError(
                f"expected {self.n_var} variables per design, got {X2.shape[1]}"
            )
        for j, v in enumerate(self.variables):
            col = X2[:, j]
            if v.kind == "real":
                if v.step:
                    col = v.origin + np.round((col - v.origin) / v.step) * v.step
                    col = np.round(col, SNAP_DECIMALS)
            elif v.kind == "int" and v.step:
                col = v.origin + np.round((col - v.origin) / v.step) * v.step
            else:
                col = np.round(col)
            X2[:, j] = np.clip(col, v.lower, v.upper)
        X2[~np.isfinite(X2)] = np.broadcast_to(self.xl, X2.shape)[~np.isfinite(X2)]
        return X2[0] if one else X2

    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """A design vector from natural values (choice labels, ints, bools); defaults fill gaps."""
        x = self.default_x()
        errors: dict[str, str] = {}
        for name, raw in values.items():
            if name not in self._index:
                errors[name] = (
                    "not a searched variable"
                    if name in self.catalog.parameters or name == MATERIAL
                    else "unknown parameter"
                )
                continue
            v = self.variables[self._index[name]]
            spec = (
                material_spec(self.catalog) if name == MATERIAL else self.catalog.parameters[name]
            )
            value, reason = coerce(spec, raw)
            if not reason and v.options is not None and value not in v.options:
                reason = f"not searched here (one of {', '.join(map(str, v.options))})"
            if reason:
                errors[name] = reason
                continue
            x[self._index[name]] = encode_value(v, value)
        if errors:
            raise RequirementsError(errors)
        return self.repair(x)

    def default_x(self) -> np.ndarray:
        """The catalog defaults (clipped into narrowed bounds), encoded."""
        x = np.empty(self.n_var)
        for j, v in enumerate(self.variables):
            if v.name == MATERIAL:
                x[j] = 0.0
                continue
            spec = self.catalog.parameters[v.name]
            x[j] = encode_value(v, default_value(spec))
        return self.repair(x)

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """Natural values of every parameter (locked ones included) and ``material``."""
        x = self.repair(np.asarray(x, dtype=float).reshape(-1))
        out: dict[str, Any] = {}
        for name in [*self.catalog.parameters, MATERIAL]:
            if name in self._index:
                v = self.variables[self._index[name]]
                out[name] = decode_value(v, x[self._index[name]])
            else:
                out[name] = self.locks[name]
        return out

    # ------------------------------------------------------------------ evaluation

    def _env_column(self, v: Any, column: np.ndarray) -> np.ndarray:
        """A variable's column as the program reads it (choices as int indices; the
        material as its catalog index, also when a farm limits the options)."""
        if v.kind != "choice":
            return column
        idx = np.asarray(column).astype(np.intp)
        if v.name == MATERIAL and self._material_codes is not None:
            return self._material_codes[idx]
        return idx

    def _fixed_env(self) -> dict[str, np.ndarray]:
        env: dict[str, Any] = {}
        if self.estimator is not None:
            env[ESTIMATOR_KEY] = self.estimator
        if self.farm is not None:
            env[PRINTER_TABLE_KEY] = self.farm.printer_table
        for name, value in self.requirements.items():
            env[name] = env_value(self.catalog.requirements[name], value)
        for name, value in self.locks.items():
            spec = (
                material_spec(self.catalog) if name == MATERIAL else self.catalog.parameters[name]
            )
            env[name] = env_value(spec, value)
        self.program.fold(env, fixed=set(env))
        return env

    def evaluate(self, X: np.ndarray) -> Evaluation:
        """Evaluate a population ``X (n, n_var)`` (or one design ``(n_var,)``) in one call."""
        X = np.atleast_2d(self.repair(X))
        n = X.shape[0]
        env = dict(self._fixed)
        columns = np.ascontiguousarray(X.T)  # contiguous operands: every ufunc runs faster
        for j, v in enumerate(self.variables):
            env[v.name] = self._env_column(v, columns[j])
        derived, objectives, margins = self.program.run(env, n=n)
        if self._farm_constraint:
            extents = self.program.plate_extents(env, n=n)
            margins[FARM_CONSTRAINT] = self.farm.margin(extents, env[MATERIAL])  # type: ignore[union-attr]
        # one pass: a sum is finite only if every term is (nan and inf propagate)
        total = np.zeros(n)
        F = np.empty((n, self.n_obj))
        for j, (k, sense) in enumerate(zip(self.objective_names, self.senses, strict=True)):
            np.multiply(objectives[k], sense, out=F[:, j])
            total += objectives[k]
        G = np.empty((n, self.n_con))
        worst = np.full(n, np.inf)
        for j, k in enumerate(self.constraint_names):
            np.negative(margins[k], out=G[:, j])
            total += margins[k]
            np.fmin(worst, margins[k], out=worst)
        for arr in derived.values():
            if arr.strides == (0,):  # the same value for every design
                total += arr[0]
            else:
                total += arr
        finite = np.isfinite(total)
        feasible = finite & (worst >= 0)
        return Evaluation(
            X=X,
            F=F,
            G=G,
            objectives=objectives,
            margins=margins,
            derived=derived,
            feasible=feasible,
        )

    def plate_extents(self, X: np.ndarray) -> np.ndarray | None:
        """(n, 3) mm: the print plate's x, y, z extents of designs ``X`` (the catalog's
        ``plate:``); None when the catalog declares none."""
        if self.program.plate is None:
            return None
        X = np.atleast_2d(self.repair(X))
        env = dict(self._fixed)
        for j, v in enumerate(self.variables):
            env[v.name] = self._env_column(v, X[:, j])
        self.program.run(env, n=len(X))
        return self.program.plate_extents(env, n=len(X))

    def values(self, x: np.ndarray) -> dict[str, Any]:
        """Everything a generator needs for one design: requirements, parameters (choice as
        label), derived values and ``volume``, table lookups (``"screw.hole"``), ``material``
        and its lookups (``"material.density"``)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        ev = self.evaluate(x[None, :])
        out: dict[str, Any] = {k: natural(v) for k, v in self.requirements.items()}
        out.update(self.decode(ev.X[0]))
        out.update({k: float(v[0]) for k, v in ev.derived.items()})
        env = dict(self._fixed)
        for j, v in enumerate(self.variables):
            env[v.name] = self._env_column(v, ev.X[0, j])
        for name in self.program.scope.lookups:
            out[name] = float(np.asarray(self.program.scope.getter(name)(env)).reshape(-1)[0])
        return out

    def record(self, x: np.ndarray) -> DesignRecord:
        """The :class:`DesignRecord` of one design (mesh and files left empty)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        ev = self.evaluate(x[None, :])
        bad = [
            k
            for k, v in {**ev.derived, **ev.objectives, **ev.margins}.items()
            if not np.isfinite(v[0])
        ]
        if bad:
            raise OptimizationError(f"design has non-finite values for {', '.join(bad)}")
        cat = self.catalog
        decoded = self.decode(ev.X[0])
        material = str(decoded.pop(MATERIAL))
        params = {
            name: ParameterValue(value=natural(value), unit=cat.parameters[name].unit)
            for name, value in decoded.items()
        }
        objectives = {
            name: ObjectiveValue(value=float(ev.objectives[name][0]), unit=o.unit, sense=o.sense)
            for name, o in cat.objectives.items()
        }
        constraints = {
            c.name: ConstraintValue(
                margin=float(ev.margins[c.name][0]),
                satisfied=bool(ev.margins[c.name][0] >= 0),
                message=c.message,
            )
            for c in cat.constraints
        }
        if self._farm_constraint:
            margin = float(ev.margins[FARM_CONSTRAINT][0])
            constraints[FARM_CONSTRAINT] = ConstraintValue(
                margin=margin, satisfied=margin >= 0, message=FARM_MESSAGE
            )
        return DesignRecord.build(
            catalog_id=cat.id,
            catalog_version=cat.version,
            catalog_hash=cat.content_hash,
            generator=cat.generator,
            requirements={k: natural(v) for k, v in self.requirements.items()},
            material=material,
            parameters=params,
            derived={k: float(v[0]) for k, v in ev.derived.items()},
            objectives=objectives,
            constraints=constraints,
            feasible=bool(ev.feasible[0]),
            estimator=self.estimator_identity,
            farm=self.farm_identity,
        )
