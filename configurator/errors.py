"""The one error tree of configurator.

Every error a user can cause or see is a :class:`ConfiguratorError`. Entry points
(CLI, API) catch this base class and render ``str(error)`` (one readable line, or
one line per problem) — never a traceback. Each class carries the HTTP status the API
answers with (``http_status``); the API's error handler and the HTTP client
(:func:`error_for_status`) both read it, so the mapping is defined once, here.

::

    ConfiguratorError                   400
    ├── CatalogError                    422  catalog YAML problems; ``.problems`` is a list of
    │                                        :class:`Problem` (path, line, col, message), all at once
    ├── ExpressionError                 422  an expression refused at parse time (line/col relative
    │                                        to the expression text); the loader turns it into a Problem
    ├── RequirementsError               422  a customer's or a client's input is invalid;
    │                                        ``.fields`` maps field name -> reason (one 422 entry each)
    ├── OptimizationError               400  a run could not be set up or executed (budget, algorithm)
    ├── InfeasibleError                 422  no feasible design; ``.report`` holds the structured report
    ├── GeometryError                   500  a generator failed to build a mesh
    │   └── MeshCheckError              500  a generated mesh failed a check; names design + check
    ├── ExportError                     500  a mesh could not be serialized
    ├── EstimateError                   503  the estimator is missing / untrained / given bad features
    ├── NotFoundError                   404  unknown catalog, run, design, order, node or job
    ├── ConflictError                   409  a state transition was refused
    ├── AuthError                       401  missing or wrong key ...
    │   └── ForbiddenError              403  ... or a key acting on what it does not own
    ├── RateLimitError                  429  too much at once; ``retry_after_s`` is a hint
    ├── FarmError                       400  print-farm domain errors (the farm server cannot be
    │   │                                    reached, a farm rule is broken)
    │   └── NoCapableNodeError          409  no node can print the job
    ├── ConnectorError                  502  a printer (or its server) refused or is unreachable
    │   └── PrinterBusyError            409  the printer is busy with something the farm did not start
    └── SettingsError                   400  invalid configuration / settings
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfiguratorError(Exception):
    """Base of every domain error. ``str(err)`` is safe to show to a user.

    Every subclass pickles with its attributes (``problems``, ``fields``, ``report``...),
    so errors cross process pools and Dask workers intact. ``http_status``: what the API
    answers with when this error reaches it.
    """

    http_status: int = 400

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

    http_status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(ConfiguratorError):
    """An expression was refused. ``line``/``col`` are 1-based within the expression text."""

    http_status = 422

    def __init__(self, message: str, *, line: int = 1, col: int = 1):
        self.message = message
        self.line = line
        self.col = col
        super().__init__(message)


class RequirementsError(ConfiguratorError):
    """Customer input is invalid. ``fields`` maps a field name to a readable reason."""

    http_status = 422

    def __init__(self, fields: dict[str, str]):
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


class OptimizationError(ConfiguratorError):
    """An optimization run could not be set up or run."""


class InfeasibleError(ConfiguratorError):
    """No feasible design exists for these requirements; ``report`` is structured."""

    http_status = 422

    def __init__(self, message: str, report: Any = None):
        self.report = report
        super().__init__(message)


class GeometryError(ConfiguratorError):
    """A generator could not build a mesh."""

    http_status = 500


class MeshCheckError(GeometryError):
    """A generated mesh failed a check."""

    def __init__(self, design_id: str, check: str, detail: str):
        self.design_id = design_id
        self.check = check
        self.detail = detail
        super().__init__(f"design {design_id}: mesh check '{check}' failed: {detail}")


class ExportError(ConfiguratorError):
    """A mesh could not be serialized."""

    http_status = 500


class EstimateError(ConfiguratorError):
    """Estimation failed (no trained model, bad features)."""

    http_status = 503


class NotFoundError(ConfiguratorError):
    """Unknown catalog, run, design, order, node or job."""

    http_status = 404


class ConflictError(ConfiguratorError):
    """A state transition was refused."""

    http_status = 409


class AuthError(ConfiguratorError):
    """Missing or wrong key."""

    http_status = 401


class ForbiddenError(AuthError):
    """A valid key acting on something it does not own."""

    http_status = 403


class RateLimitError(ConfiguratorError):
    """Too much at once; ``retry_after_s`` is a hint in seconds (the ``Retry-After`` header)."""

    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int = 5):
        self.retry_after_s = retry_after_s
        super().__init__(message)


class FarmError(ConfiguratorError):
    """Print-farm domain error (the farm server cannot be reached, a farm rule is broken)."""


class NoCapableNodeError(FarmError):
    """No node can print this job."""

    http_status = 409


class ConnectorError(ConfiguratorError):
    """A printer (or its server) refused or could not be reached; ``str()`` is the
    printer's own reason."""

    http_status = 502


class PrinterBusyError(ConnectorError):
    """The printer is busy with something the farm did not start (e.g. a print started
    from the printer's own UI): the job was not started."""

    http_status = 409


class SettingsError(ConfiguratorError):
    """Invalid settings."""


def error_for_status(status: int) -> type[ConfiguratorError]:
    """The error class an HTTP client raises for an API answer with ``status`` (>= 400):
    the most general class of the tree declaring that status (422 is
    :class:`RequirementsError`, the field-level shape); :class:`ConfiguratorError` when no
    class declares it. Server errors (5xx) are :class:`FarmError` (the server failed)."""
    if status == 422:
        return RequirementsError
    if status >= 500:
        return FarmError
    return _BY_STATUS.get(status, ConfiguratorError)


def _most_general_by_status() -> dict[int, type[ConfiguratorError]]:
    out: dict[int, type[ConfiguratorError]] = {}
    stack: list[type[ConfiguratorError]] = [ConfiguratorError]
    while stack:  # breadth first: parents before children
        cls = stack.pop(0)
        out.setdefault(cls.http_status, cls)
        stack.extend(cls.__subclasses__())
    return out


_BY_STATUS = _most_general_by_status()
