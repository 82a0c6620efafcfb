"""The ground-truth data sets: one CSV row per (part mesh, profile), read and written here.

One data set per technology (:data:`DATASET_PATHS`): ``slicer_dataset.csv`` (FDM,
PrusaSlicer G-code estimates), ``sla_dataset.csv`` (PrusaSlicer ``--export-sla``) and
``slm_dataset.csv`` (PySLM scan time + recoat). Columns (:func:`columns`):

* ids: ``source`` (``catalog`` or ``family``), ``catalog``, ``family`` (the shape family:
  the catalog id, or a :mod:`~configurator.core.estimate.families` name — evaluation holds
  whole families out), ``design_id``, ``part``, ``group`` (one design / part),
  ``design_material``, ``material`` (the profile it was made with);
* the shape descriptors :data:`~configurator.core.estimate.features.FEATURE_NAMES`
  (face-based, mm/mm²/mm³; the farm simulator reads the bounding box from them);
* the technology's features (:func:`~configurator.core.estimate.technologies.feature_names`);
* targets ``seconds``, ``filament_mm`` (FDM; 0 otherwise) and ``grams``.

Each CSV has its metadata (tool versions, profiles, seed, timings) beside it as ``.json``;
``scripts/make_slicer_dataset.py --technology T`` makes them.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from configurator.core.estimate.features import FEATURE_NAMES
from configurator.core.estimate.technologies import FDM, SLA, SLM, feature_names
from configurator.errors import EstimateError

DATA_DIR = Path(__file__).resolve().parent / "data"
DATASET_PATHS: dict[str, Path] = {
    FDM: DATA_DIR / "slicer_dataset.csv",
    SLA: DATA_DIR / "sla_dataset.csv",
    SLM: DATA_DIR / "slm_dataset.csv",
}
DATASET_PATH = DATASET_PATHS[FDM]
METADATA_PATH = DATASET_PATH.with_suffix(".json")

ID_COLUMNS = (
    "source",
    "catalog",
    "family",
    "design_id",
    "part",
    "group",
    "design_material",
    "material",
)
TARGET_COLUMNS = ("seconds", "filament_mm", "grams")
LABELS = ("material", "group", "catalog", "source", "family", "part")


def columns(technology: str = FDM) -> tuple[str, ...]:
    """All CSV columns of ``technology``'s data set, in order."""
    tech = tuple(c for c in feature_names(technology) if c not in FEATURE_NAMES)
    return ID_COLUMNS + FEATURE_NAMES + tech + TARGET_COLUMNS


COLUMNS = columns(FDM)


@dataclass(frozen=True)
class Dataset:
    """Rows as arrays: ``features`` (n, k) the technology's features (the estimator's
    input), ``X`` (n, 13) the shape descriptors (FEATURE_NAMES), targets (n,), labels (n,)
    str arrays (``material``, ``group``, ``catalog``, ``source``, ``family``, ``part``)."""

    technology: str
    features: np.ndarray
    X: np.ndarray
    seconds: np.ndarray
    grams: np.ndarray
    filament_mm: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.seconds)

    def __getattr__(self, name: str) -> np.ndarray:
        labels = self.__dict__.get("labels", {})
        if name in labels:
            return labels[name]
        raise AttributeError(name)

    def subset(self, mask: np.ndarray) -> Dataset:
        """Rows where ``mask`` (n,) is true (or the given indices)."""
        return Dataset(
            technology=self.technology,
            features=self.features[mask],
            X=self.X[mask],
            seconds=self.seconds[mask],
            grams=self.grams[mask],
            filament_mm=self.filament_mm[mask],
            labels={k: v[mask] for k, v in self.labels.items()},
            sha256=self.sha256,
        )


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return format(float(value), ".10g")
    return str(value)


def dumps(rows: Iterable[Mapping[str, object]], *, technology: str = FDM) -> str:
    """CSV text of ``rows`` (dicts with every column of :func:`columns`), ``\\n`` line ends."""
    cols = columns(technology)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        try:
            writer.writerow([_fmt(row[c]) for c in cols])
        except KeyError as exc:
            raise EstimateError(f"data set row is missing column {exc.args[0]!r}") from exc
    return buf.getvalue()


def loads(text: str, *, name: str = "<data set>", technology: str = FDM) -> Dataset:
    """Parse CSV text written by :func:`dumps`; problems name ``name:line``."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise EstimateError(f"{name}: empty data set") from None
    feats = feature_names(technology)
    cols = columns(technology)
    missing = [c for c in cols if c not in header and c != "family"]
    if missing:
        raise EstimateError(f"{name}:1: missing columns {missing}")
    idx = {c: header.index(c) for c in cols if c in header}
    num_cols = FEATURE_NAMES + tuple(c for c in feats if c not in FEATURE_NAMES) + TARGET_COLUMNS
    nums: list[list[float]] = []
    labels: dict[str, list[str]] = {c: [] for c in LABELS}
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
        for c in LABELS:
            labels[c].append(row[idx[c]] if c in idx else row[idx["group"]].split(":")[0])
    if not nums:
        raise EstimateError(f"{name}: the data set has no rows")
    arr = np.asarray(nums, dtype=np.float64)
    pos = {c: i for i, c in enumerate(num_cols)}
    return Dataset(
        technology=technology,
        features=arr[:, [pos[c] for c in feats]],
        X=arr[:, : len(FEATURE_NAMES)],
        seconds=arr[:, pos["seconds"]],
        filament_mm=arr[:, pos["filament_mm"]],
        grams=arr[:, pos["grams"]],
        labels={k: np.asarray(v) for k, v in labels.items()},
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_dataset(path: str | Path | None = None, *, technology: str = FDM) -> Dataset:
    """Read a data set CSV (default: the committed one of ``technology``)."""
    path = Path(path) if path is not None else DATASET_PATHS[technology.upper()]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EstimateError(f"cannot read data set {path}: {exc.strerror}") from exc
    return loads(text, name=str(path), technology=technology.upper())
