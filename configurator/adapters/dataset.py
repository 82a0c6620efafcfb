"""The slicer data set: one CSV row per (part mesh, slicer profile), read and written here.

Columns (:data:`COLUMNS`): ``source`` (``catalog`` or ``primitive``), ``catalog``,
``design_id``, ``part``, ``group`` (rows of one design share it: cross-validation holds whole
designs out), ``design_material`` (the catalog material the design was sampled with),
``material`` (the slicer profile it was sliced with), the mesh features
(:data:`~configurator.core.estimate.features.FEATURE_NAMES`, mm/mm²/mm³), and the slicer's
``seconds``, ``filament_mm`` and ``grams``.

The committed data set is ``configurator/adapters/data/slicer_dataset.csv`` with its
metadata (slicer version, profiles, seed) in ``slicer_dataset.json``; it is made by
``scripts/make_slicer_dataset.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from configurator.core.estimate.features import FEATURE_NAMES
from configurator.errors import EstimateError

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASET_PATH = DATA_DIR / "slicer_dataset.csv"
METADATA_PATH = DATA_DIR / "slicer_dataset.json"

ID_COLUMNS = ("source", "catalog", "design_id", "part", "group", "design_material", "material")
TARGET_COLUMNS = ("seconds", "filament_mm", "grams")
COLUMNS = ID_COLUMNS + FEATURE_NAMES + TARGET_COLUMNS


@dataclass(frozen=True)
class Dataset:
    """Rows as arrays: ``X`` (n, 13) features, targets (n,), labels (n,) str arrays."""

    X: np.ndarray
    seconds: np.ndarray
    grams: np.ndarray
    filament_mm: np.ndarray
    material: np.ndarray
    group: np.ndarray
    catalog: np.ndarray
    source: np.ndarray
    sha256: str

    def __len__(self) -> int:
        return len(self.seconds)

    def subset(self, mask: np.ndarray) -> Dataset:
        """Rows where ``mask`` (n,) is true (or the given indices)."""
        return Dataset(
            X=self.X[mask],
            seconds=self.seconds[mask],
            grams=self.grams[mask],
            filament_mm=self.filament_mm[mask],
            material=self.material[mask],
            group=self.group[mask],
            catalog=self.catalog[mask],
            source=self.source[mask],
            sha256=self.sha256,
        )


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return format(float(value), ".10g")
    return str(value)


def dumps(rows: Iterable[Mapping[str, object]]) -> str:
    """CSV text of ``rows`` (dicts with every :data:`COLUMNS` key), ``\\n`` line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        try:
            writer.writerow([_fmt(row[c]) for c in COLUMNS])
        except KeyError as exc:
            raise EstimateError(f"data set row is missing column {exc.args[0]!r}") from exc
    return buf.getvalue()


def loads(text: str, *, name: str = "<data set>") -> Dataset:
    """Parse CSV text written by :func:`dumps`; problems name ``name:line``."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise EstimateError(f"{name}: empty data set") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise EstimateError(f"{name}:1: missing columns {missing}")
    idx = {c: header.index(c) for c in COLUMNS}
    num_cols = FEATURE_NAMES + TARGET_COLUMNS
    nums: list[list[float]] = []
    labels: dict[str, list[str]] = {c: [] for c in ("material", "group", "catalog", "source")}
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            values = [float(row[idx[c]]) for c in num_cols]
        except (ValueError, IndexError):
            raise EstimateError(f"{name}:{line_no}: a numeric column is missing or bad") from None
        if not all(np.isfinite(values)) or min(values) < 0:
            raise EstimateError(f"{name}:{line_no}: values must be finite and non-negative")
        nums.append(values)
        for c in labels:
            labels[c].append(row[idx[c]])
    if not nums:
        raise EstimateError(f"{name}: the data set has no rows")
    arr = np.asarray(nums, dtype=np.float64)
    nf = len(FEATURE_NAMES)
    return Dataset(
        X=arr[:, :nf],
        seconds=arr[:, nf],
        filament_mm=arr[:, nf + 1],
        grams=arr[:, nf + 2],
        material=np.asarray(labels["material"]),
        group=np.asarray(labels["group"]),
        catalog=np.asarray(labels["catalog"]),
        source=np.asarray(labels["source"]),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_dataset(path: str | Path = DATASET_PATH) -> Dataset:
    """Read a data set CSV (default: the committed one)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EstimateError(f"cannot read data set {path}: {exc.strerror}") from exc
    return loads(text, name=str(path))
