"""Registry of geometry generators by name.

A generator is a pure function ``fn(values: Mapping[str, Any]) -> dict[str, trimesh.Trimesh]``
(part name -> mesh, units mm). ``values`` is what ``DesignSpace.values(x)`` returns:
requirements, parameters, derived values, table lookups (``"screw.hole"``) and ``"material"``.

Register with::

    @register("enclosure", parameters=("wall", "floor", ...))
    def enclosure(values): ...

The catalog loader refuses a catalog whose ``generator`` is unknown (:func:`get` raises
:class:`~configurator.errors.GeometryError`) or whose ``parameters`` keys differ from the
registered ``parameters`` (:func:`parameters_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from configurator.errors import ConfiguratorError, GeometryError

Generator = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Registered:
    """One registered generator: its name, function and declared parameter names."""

    name: str
    fn: Generator
    parameters: tuple[str, ...]


_REGISTRY: dict[str, Registered] = {}


def register(name: str, *, parameters: tuple[str, ...]) -> Callable[[Generator], Generator]:
    """Register ``fn`` as the generator ``name`` searching ``parameters`` (catalog keys)."""
    if not name or not isinstance(name, str):
        raise GeometryError("generator name must be a non-empty string")
    params = tuple(parameters)
    if len(set(params)) != len(params):
        raise GeometryError(f"generator {name!r}: duplicate parameter names in {params}")

    def deco(fn: Generator) -> Generator:
        existing = _REGISTRY.get(name)
        if (
            existing is not None
            and existing.fn is not fn
            and (
                existing.fn.__module__,
                existing.fn.__qualname__,
            )
            != (fn.__module__, fn.__qualname__)
        ):
            raise GeometryError(f"generator {name!r} is already registered by {existing.fn!r}")
        _REGISTRY[name] = Registered(name=name, fn=fn, parameters=params)
        fn.generator_name = name  # type: ignore[attr-defined]
        fn.parameters = params  # type: ignore[attr-defined]
        return fn

    return deco


def get(name: str) -> Generator:
    """The generator function registered as ``name``; GeometryError when unknown."""
    return entry(name).fn


def entry(name: str) -> Registered:
    """The :class:`Registered` record for ``name``; GeometryError when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise GeometryError(f"unknown generator {name!r} (known: {known})") from None


def parameters_of(name: str) -> tuple[str, ...]:
    """The parameter names ``name`` was registered with (catalog ``parameters`` keys)."""
    return entry(name).parameters


def names() -> list[str]:
    """Sorted names of every registered generator."""
    return sorted(_REGISTRY)


def generate(
    name: str, values: Mapping[str, Any], *, design_id: str | None = None
) -> dict[str, Any]:
    """Run generator ``name`` on ``values`` and stamp each part's metadata.

    Returns ``{part: trimesh.Trimesh}`` (mm) in the generator's part order; each mesh's
    ``metadata`` holds ``family``, ``part``, ``design_id`` and ``parameters`` (the registered
    parameter values, plain Python). Anything a generator raises that is not a
    ConfiguratorError becomes a GeometryError naming the family (and design).
    """
    reg = entry(name)
    try:
        parts = reg.fn(values)
    except ConfiguratorError:
        raise
    except Exception as exc:  # manifold3d / numpy failure inside a generator
        who = f" for design {design_id}" if design_id else ""
        raise GeometryError(f"{name}: generator failed{who}: {type(exc).__name__}: {exc}") from exc
    if not parts:
        raise GeometryError(f"{name}: generator returned no parts")
    params = {p: _plain(values.get(p)) for p in reg.parameters}
    for part, mesh in parts.items():
        mesh.metadata["family"] = name
        mesh.metadata["part"] = part
        mesh.metadata["design_id"] = design_id
        mesh.metadata["parameters"] = dict(params)
    return parts


def _plain(value: Any) -> Any:
    """numpy scalars / 0-d arrays -> Python numbers; everything else unchanged."""
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, TypeError):
            return value
    return value
