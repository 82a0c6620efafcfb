"""The catalogs a server or a command offers: loaded once, looked up by id or path.

:class:`CatalogCache` holds the catalogs of ``Settings.catalog_dir`` (broken files are
reported in ``problems``, the good ones still served); :func:`resolve_catalog` turns a
catalog object, a YAML path or an id into a loaded :class:`~configurator.core.catalog.model.Catalog`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from configurator.adapters.catalog_yaml import (
    catalog_paths,
    find_catalog,
    load_catalog,
    load_catalogs,
)
from configurator.core.catalog.model import Catalog
from configurator.errors import CatalogError, NotFoundError, RequirementsError
from configurator.settings import Settings


def resolve_catalog(catalog: Any, *, catalog_dir: str | Path | None = None) -> Catalog:
    """A loaded catalog from a ``Catalog``, a YAML path, or an id in ``catalog_dir``
    (default: ``Settings().catalog_dir``).

    Raises ``CatalogError`` (bad file) or ``RequirementsError`` on ``catalog`` (unknown id,
    missing file).
    """
    if isinstance(catalog, Catalog):
        return catalog
    text = str(catalog)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") and not path.is_file():
        raise RequirementsError({"catalog": f"no such catalog file: {text}"})
    return find_catalog(text, catalog_dir if catalog_dir is not None else Settings().catalog_dir)


class CatalogCache:
    """The catalogs of ``catalog_dir``, loaded once (broken files reported). Thread-safe."""

    def __init__(self, catalog_dir: str | Path):
        self.catalog_dir = Path(catalog_dir)
        self._lock = threading.Lock()
        self._catalogs: dict[str, Catalog] | None = None
        self.problems: list[str] = []

    def all(self) -> dict[str, Catalog]:
        """Catalog id -> catalog, in file-name order."""
        with self._lock:
            if self._catalogs is None:
                self._catalogs = self._load()
            return self._catalogs

    def _load(self) -> dict[str, Catalog]:
        if not self.catalog_dir.is_dir():
            self.problems = [f"{self.catalog_dir}: no such folder"]
            return {}
        try:
            return load_catalogs(self.catalog_dir)
        except CatalogError as exc:  # keep the good ones, report the rest
            self.problems = [str(p) for p in exc.problems]
        out: dict[str, Catalog] = {}
        for path in catalog_paths(self.catalog_dir):
            try:
                catalog = load_catalog(path)
            except CatalogError:
                continue
            out.setdefault(catalog.id, catalog)
        return out

    def get(self, catalog_id: str) -> Catalog:
        """The catalog ``catalog_id``; :class:`NotFoundError` when there is none."""
        catalog = self.all().get(catalog_id)
        if catalog is None:
            raise NotFoundError(f"no product family {catalog_id!r}")
        return catalog

    def find(self, catalog_id: str) -> Catalog | None:
        """The catalog ``catalog_id`` or None."""
        return self.all().get(catalog_id)
