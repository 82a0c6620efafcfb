"""The design record: the one object every stage after the optimizer uses.

A :class:`DesignRecord` holds what identifies a design (catalog id, version and content hash,
generator, requirements, material, parameters with units, derived values, objectives,
constraint margins, feasibility) plus what later stages attach (``mesh``, ``files``).
``design_id`` is the sha256 of the canonical JSON of the identity fields, so the same
inputs always give the same id and the same bytes. Numbers are rounded to
:data:`SIGNIFICANT` significant digits before hashing (last-bit differences between
machines do not change the id).

``estimator`` names the print estimator a catalog's host functions used (e.g.
``"learned:6b54f19ed0b8a9c2"``); it is part of the id only when set, so the ids of catalogs
that call no host function (``estimator`` None) are what they were before the field existed.
``farm`` likewise: the fingerprint of the farm a farm-attached run was limited to
(:class:`~configurator.core.farm.capability.FarmProfile`), None for a run on the catalog's
own printers. ``generator_code`` likewise: set only on a design re-validated after its
generator's code changed (docs/trace.md), so it gets an id of its own.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: significant digits kept for every number in a record.
SIGNIFICANT = 12

Scalar = bool | int | float | str

#: the fields that make up the design id (everything but mesh, files and the id itself).
IDENTITY_FIELDS = (
    "catalog_id",
    "catalog_version",
    "catalog_hash",
    "generator",
    "requirements",
    "material",
    "parameters",
    "derived",
    "objectives",
    "constraints",
    "feasible",
)
#: identity fields that count only when not None
OPTIONAL_IDENTITY_FIELDS = ("estimator", "farm", "generator_code")


def round_sig(value: float, digits: int = SIGNIFICANT) -> float:
    """``value`` rounded to ``digits`` significant digits (non-finite values unchanged)."""
    v = float(value)
    if v == 0.0 or not math.isfinite(v):
        return v + 0.0  # normalizes -0.0
    return float(f"{v:.{digits}g}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParameterValue(_Model):
    value: Scalar
    unit: str | None = None


class ObjectiveValue(_Model):
    value: float
    unit: str = ""
    sense: Literal["min", "max"]


class ConstraintValue(_Model):
    margin: float = Field(description=">= 0 satisfied; units of the compared quantities")
    satisfied: bool
    message: str


class MeshPart(_Model):
    triangles: int
    volume_mm3: float
    file: str | None = None


class MeshInfo(_Model):
    parts: dict[str, MeshPart] = Field(default_factory=dict)
    checks: dict[str, bool] = Field(default_factory=dict)


class DesignRecord(_Model):
    """One design, fully described (see module docstring)."""

    design_id: str = Field(description="sha256 (hex) of the identity fields")
    catalog_id: str
    catalog_version: str
    catalog_hash: str
    generator: str
    requirements: dict[str, Scalar]
    material: str
    parameters: dict[str, ParameterValue]
    derived: dict[str, float]
    objectives: dict[str, ObjectiveValue]
    constraints: dict[str, ConstraintValue]
    feasible: bool
    estimator: str | None = Field(
        default=None,
        description="print estimator identity behind host-function objectives (None: none used)",
    )
    farm: str | None = Field(
        default=None,
        description="fingerprint of the farm whose printers the run was limited to "
        "(None: the catalog's own printers)",
    )
    generator_code: str | None = Field(
        default=None,
        description="code identity of the generator a design was re-validated with after "
        "its generator changed (None: not re-validated; docs/trace.md)",
    )
    mesh: MeshInfo | None = None
    files: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def build(cls, **fields: Any) -> DesignRecord:
        """Build a record from its identity fields, computing ``design_id``."""
        fields = _normalize(fields)
        return cls(design_id=design_id(fields), **fields)

    def identity(self) -> dict[str, Any]:
        """The identity fields as plain JSON data."""
        out = self.model_dump(mode="json", include=set(IDENTITY_FIELDS))
        for k in OPTIONAL_IDENTITY_FIELDS:
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out

    def verify(self) -> bool:
        """True when ``design_id`` matches the identity fields."""
        return self.design_id == design_id(self.identity())


def design_id(identity: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON (sorted keys, no spaces) of ``identity``."""
    data = {k: identity[k] for k in IDENTITY_FIELDS}
    data.update({k: identity[k] for k in OPTIONAL_IDENTITY_FIELDS if identity.get(k) is not None})
    if hasattr(data["parameters"], "items"):
        data = json.loads(json.dumps(data, default=_json_default))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _normalize(value: Any) -> Any:
    """Round floats, turn numpy scalars into Python ones, recurse into dicts/lists/models."""
    if isinstance(value, BaseModel):
        return _normalize(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):
        value = value.item()  # numpy scalar
        if isinstance(value, bool):
            return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a design record cannot hold {value}")
        return round_sig(value)
    return value
