"""The catalog format as pydantic models (unknown keys rejected everywhere).

These models check *structure and types*; :mod:`configurator.core.catalog.checks` adds the
semantic checks (bounds ordered, tables complete, expressions compile, ...) and
:mod:`configurator.core.catalog.program` compiles the expressions for vectorized evaluation.
The JSON Schema of the format is :func:`catalog_json_schema` (``configurator catalog schema``).

Units: lengths in the catalog's ``units`` (mm), density g/cm^3, cost per kg in currency
units, material properties as the catalog documents them (MPa for ``E`` and
``yield_strength``), build volumes mm.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
)

from configurator.errors import CatalogError, Problem

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
ID_PATTERN = r"^[a-z][a-z0-9-]*$"


def _number_to_label(value: Any) -> Any:
    """Accept ``2.7`` where a label is expected (YAML reads unquoted 2.7 as a number)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


Label = Annotated[str, BeforeValidator(_number_to_label), Field(min_length=1)]
Value = bool | int | float | str
Expr = Annotated[
    str | float,
    Field(description="an expression (see docs/catalog.md) or a plain number"),
]


class Strict(BaseModel):
    """Base: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Material(Strict):
    """A printable material."""

    density: float = Field(gt=0, description="g/cm^3")
    cost_per_kg: float = Field(ge=0, description="currency units per kg")
    technology: str = Field(min_length=1, description="process, e.g. FDM, SLA, SLS, SLM")
    label: str | None = None
    help: str | None = None
    properties: dict[str, float] = Field(
        default_factory=dict,
        description="named properties reachable as material.NAME (e.g. E, yield_strength in MPa)",
    )


class FieldSpec(Strict):
    """A requirement (typed by the customer) or a parameter (searched by the optimizer)."""

    type: Literal["real", "int", "choice", "bool"]
    min: float | None = Field(default=None, description="lower bound (real, int)")
    max: float | None = Field(default=None, description="upper bound (real, int)")
    step: float | None = Field(default=None, gt=0, description="grid step from min (real, int)")
    options: list[Label] | None = Field(default=None, description="option labels (choice)")
    default: Value | None = None
    unit: str | None = None
    label: str | None = None
    group: str | None = None
    help: str | None = None


Parameter = FieldSpec
Requirement = FieldSpec


class Derived(Strict):
    """A derived value with documentation (the short form is just the expression)."""

    expr: Expr
    unit: str | None = None
    help: str | None = Field(
        default=None, description="what it is and where the formula comes from"
    )


class Constraint(Strict):
    """A feasibility condition; margin >= 0 is satisfied (see the expression language)."""

    name: str = Field(min_length=1)
    expr: str = Field(min_length=1)
    message: str = Field(min_length=1, description="shown to the customer when violated")
    help: str | None = None


class Objective(Strict):
    """A quantity to minimize or maximize."""

    expr: Expr
    unit: str = ""
    sense: Literal["min", "max"]
    label: str | None = None
    help: str | None = None


class Printer(Strict):
    """A printer class the family is made on."""

    technology: str = Field(min_length=1)
    build_volume: tuple[float, float, float] = Field(description="[x, y, z] mm")
    help: str | None = None


class Plate(Strict):
    """The printed piece's extents (mm) as the farm prints it: every part laid out on one
    plate (:mod:`configurator.core.geometry.layout`), z up. What the farm's bed-fit rule
    checks when a farm is attached to a design run; the conformance suite checks it
    against the generated meshes."""

    x: Expr
    y: Expr
    z: Expr
    help: str | None = None


class MeshChecks(Strict):
    """Tolerances the geometry conformance checks use."""

    min_wall: float = Field(default=0.8, gt=0, description="thinnest printable wall, mm")
    volume_tolerance: float = Field(
        default=0.02, gt=0, lt=1, description="relative |mesh - analytic| volume tolerance"
    )


class Example(Strict):
    """A documented, hand-computed case checked by the conformance suite."""

    name: str = Field(min_length=1)
    requirements: dict[str, Value] = Field(default_factory=dict)
    parameters: dict[str, Value] = Field(default_factory=dict)
    material: str | None = None
    expect: dict[str, float] = Field(description="derived / objective / 'volume' -> value")
    tolerance: float = Field(default=1e-6, gt=0, description="relative tolerance")
    help: str | None = None


class Catalog(Strict):
    """One product family (the whole YAML file)."""

    format: Literal[1] = Field(alias="schema", description="catalog format version")
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    summary: str = ""
    version: Label
    generator: str = Field(min_length=1)
    units: Literal["mm"] = "mm"
    materials: dict[str, Material] = Field(min_length=1)
    printers: dict[str, Printer] = Field(default_factory=dict)
    plate: Plate | None = Field(
        default=None,
        description="extents of the printed piece, mm (x, y, z expressions); "
        "the farm constraint of a farm-attached run needs it",
    )
    mesh_checks: MeshChecks = Field(default_factory=MeshChecks)
    requirements: dict[str, Requirement] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(min_length=1)
    tables: dict[str, dict[Label, dict[str, float]]] = Field(
        default_factory=dict, description="choice name -> option -> column -> number"
    )
    derived: dict[str, Expr | Derived] = Field(default_factory=dict)
    constraints: list[Constraint] = Field(default_factory=list)
    objectives: dict[str, Objective] = Field(min_length=1)
    volume: Expr = Field(description="analytic volume of all parts, mm^3")
    examples: list[Example] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)
    _content_hash: str = PrivateAttr(default="")
    _program: Any = PrivateAttr(default=None)
    _source: bytes | None = PrivateAttr(default=None)

    def __repr__(self) -> str:
        return f"Catalog(id={self.id!r}, version={self.version!r}, path={str(self._path)!r})"

    @property
    def path(self) -> Path | None:
        """Where the catalog was loaded from (None when built in memory)."""
        return self._path

    @property
    def source(self) -> bytes | None:
        """The bytes the catalog was loaded from (None when built in memory)."""
        return self._source

    @property
    def content_hash(self) -> str:
        """sha256 (hex) of the file bytes; of the canonical JSON when built in memory."""
        if not self._content_hash:
            raw = self.model_dump_json(by_alias=True).encode()
            self._content_hash = hashlib.sha256(raw).hexdigest()
        return self._content_hash

    @property
    def program(self) -> Any:
        """The compiled :class:`~configurator.core.catalog.program.Program` (the loader
        compiles every catalog it returns; :func:`~configurator.core.catalog.checks.compiled`
        compiles one built in memory)."""
        if self._program is None:
            where = str(self._path) if self._path else self.id
            raise CatalogError(
                [Problem(where, 0, 0, "catalog is not compiled (load it with the catalog loader)")]
            )
        return self._program

    def derived_expr(self, name: str) -> Expr:
        d = self.derived[name]
        return d.expr if isinstance(d, Derived) else d

    def derived_unit(self, name: str) -> str | None:
        d = self.derived[name]
        return d.unit if isinstance(d, Derived) else None

    @property
    def default_material(self) -> str:
        """The first listed material."""
        return next(iter(self.materials))


def catalog_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the catalog file format."""
    schema = Catalog.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "configurator catalog"
    return schema
