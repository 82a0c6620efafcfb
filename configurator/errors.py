"""The one error tree of configurator.

Every error a user can cause or see is a :class:`ConfiguratorError`. Entry points
(CLI, API) catch this base class and render ``str(error)`` (one readable line, or
one line per problem) — never a traceback.

::

    ConfiguratorError
    ├── CatalogError            catalog YAML problems; ``.problems`` is a list of
    │                           :class:`Problem` (path, line, col, message), all at once
    ├── ExpressionError         an expression refused at parse time (line/col relative
    │                           to the expression text); the loader turns it into a Problem
    ├── RequirementsError       a customer's requirements/locks/objectives are invalid;
    │                           ``.fields`` maps field name -> reason (API: 422 per field)
    ├── OptimizationError       a run could not be set up or executed (budget, algorithm)
    ├── InfeasibleError         no feasible design; ``.report`` holds the structured report
    ├── GeometryError           a generator failed to build a mesh
    │   └── MeshCheckError      a generated mesh failed a check; names design + check
    ├── ExportError             a mesh could not be serialized
    ├── EstimateError           the estimator is missing / untrained / given bad features
    ├── FarmError               print-farm domain errors
    │   ├── NotFoundError       unknown node / job / order (API: 404)
    │   ├── ConflictError       state transition refused (API: 409)
    │   ├── AuthError           missing/wrong key (API: 401) ...
    │   │   └── ForbiddenError  ... or a key acting on what it does not own (API: 403)
    │   └── NoCapableNodeError  no node can print the job (still queued, flagged)
    └── SettingsError           invalid configuration / settings
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfiguratorError(Exception):
    """Base of every domain error. ``str(err)`` is safe to show to a user.

    Every subclass pickles with its attributes (``problems``, ``fields``, ``report``...),
    so errors cross process pools and Dask workers intact.
    """

    def __reduce__(self):
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(cls: type, args: tuple, state: dict) -> ConfiguratorError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a file: 1-based line and column (0 when unknown)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class CatalogError(ConfiguratorError):
    """A catalog failed to load or validate; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(ConfiguratorError):
    """An expression was refused. ``line``/``col`` are 1-based within the expression text."""

    def __init__(self, message: str, *, line: int = 1, col: int = 1):
        self.message = message
        self.line = line
        self.col = col
        super().__init__(message)


class RequirementsError(ConfiguratorError):
    """Customer input is invalid. ``fields`` maps a field name to a readable reason."""

    def __init__(self, fields: dict[str, str]):
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


class OptimizationError(ConfiguratorError):
    """An optimization run could not be set up or run."""


class InfeasibleError(ConfiguratorError):
    """No feasible design exists for these requirements; ``report`` is structured."""

    def __init__(self, message: str, report: Any = None):
        self.report = report
        super().__init__(message)


class GeometryError(ConfiguratorError):
    """A generator could not build a mesh."""


class MeshCheckError(GeometryError):
    """A generated mesh failed a check."""

    def __init__(self, design_id: str, check: str, detail: str):
        self.design_id = design_id
        self.check = check
        self.detail = detail
        super().__init__(f"design {design_id}: mesh check '{check}' failed: {detail}")


class ExportError(ConfiguratorError):
    """A mesh could not be serialized."""


class EstimateError(ConfiguratorError):
    """Estimation failed (no trained model, bad features)."""


class FarmError(ConfiguratorError):
    """Print-farm domain error."""


class NotFoundError(FarmError):
    """Unknown node, job or order."""


class ConflictError(FarmError):
    """A state transition was refused."""


class AuthError(FarmError):
    """Missing or wrong key."""


class ForbiddenError(AuthError):
    """A valid key acting on something it does not own."""


class NoCapableNodeError(FarmError):
    """No node can print this job."""


class SettingsError(ConfiguratorError):
    """Invalid settings."""
