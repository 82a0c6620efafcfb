"""Save and load the trained :class:`~configurator.engines.fitting.model.EstimateModel`.

Two files per technology in one directory (default: the package's
``configurator/adapters/data``): ``model.joblib`` + ``model.json`` for FDM,
``model_sla.*`` and ``model_slm.*`` for the others (:func:`model_files`).

``model.joblib``  the fitted model (joblib, zlib level 3); loaded only from a trusted
                  directory — unpickling runs code, so never point this at user uploads.
``model.json``    metadata: format, scikit-learn/numpy versions, feature names, materials,
                  layer height, profile densities, the training data's sha256 and row count,
                  the cross-validation report, and the sha256 of ``model.joblib``.

:func:`load_model` checks the metadata before unpickling: a different file format, a
scikit-learn of another major.minor version, a different feature list or a corrupted
``model.joblib`` raise :class:`~configurator.errors.EstimateError` telling the user to run
``configurator estimate train``.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from configurator.adapters.storage import write_bytes_atomic
from configurator.core.estimate.technologies import FDM, feature_names
from configurator.engines.fitting.model import TARGETS, EstimateModel
from configurator.errors import EstimateError

FORMAT = 2
DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = "model.joblib"
META_FILE = "model.json"
_RETRAIN = "run 'configurator estimate train' to rebuild it"


def model_files(technology: str = FDM) -> tuple[str, str]:
    """``(model file, metadata file)`` names of ``technology``'s model in a directory."""
    tech = technology.upper()
    feature_names(tech)
    if tech == FDM:
        return MODEL_FILE, META_FILE
    return f"model_{tech.lower()}.joblib", f"model_{tech.lower()}.json"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def dumps_model(model: EstimateModel) -> bytes:
    """The joblib bytes of ``model`` (deterministic for a deterministic fit)."""
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=("zlib", 3))
    return buf.getvalue()


def save_model(
    model: EstimateModel,
    directory: str | Path = DATA_DIR,
    *,
    training: dict[str, Any],
    report: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write ``model.joblib`` + ``model.json`` into ``directory``; returns both paths.

    ``training`` describes the data (e.g. ``{"sha256": ..., "rows": ..., "source": ...}``);
    ``report`` is the cross-validation summary shown by ``configurator estimate evaluate``.
    """
    directory = Path(directory)
    blob = dumps_model(model)
    meta = {
        "format": FORMAT,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "feature_names": list(model.feature_names),
        "targets": list(TARGETS),
        "materials": list(model.materials),
        "technology": model.technology,
        "layer_height_mm": model.layer_height,
        "densities_g_cm3": dict(sorted(model.densities.items())),
        "training": training,
        "report": report or {},
        "model_sha256": hashlib.sha256(blob).hexdigest(),
        "model_bytes": len(blob),
    }
    model_name, meta_name = model_files(model.technology)
    model_path = directory / model_name
    meta_path = directory / meta_name
    # atomic writes: an interrupted retrain leaves the previous model, never a torn file
    # (the metadata's hash is what load_model checks the model against)
    write_bytes_atomic(model_path, blob)
    write_bytes_atomic(meta_path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    load_model.cache_clear()
    return model_path, meta_path


def read_metadata(directory: str | Path = DATA_DIR, technology: str = FDM) -> dict[str, Any]:
    """The metadata of ``technology``'s model in ``directory`` (EstimateError when absent
    or unreadable)."""
    path = Path(directory) / model_files(technology)[1]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EstimateError(f"no trained estimator at {path.parent}; {_RETRAIN}") from None
    except (OSError, ValueError) as exc:
        raise EstimateError(f"cannot read {path}: {exc}; {_RETRAIN}") from exc


def check_metadata(meta: dict[str, Any], *, where: str, technology: str = FDM) -> None:
    """Refuse a model saved in another format, scikit-learn minor version or feature list."""
    if meta.get("format") != FORMAT:
        raise EstimateError(f"{where}: model format {meta.get('format')!r} != {FORMAT}; {_RETRAIN}")
    saved = str(meta.get("sklearn_version", "?"))
    if _minor(saved) != _minor(sklearn.__version__):
        raise EstimateError(
            f"{where}: the estimator was saved with scikit-learn {saved} but "
            f"{sklearn.__version__} is installed; {_RETRAIN}"
        )
    if list(meta.get("feature_names", [])) != list(feature_names(technology)):
        raise EstimateError(
            f"{where}: the estimator's features differ from this code's; {_RETRAIN}"
        )


@lru_cache(maxsize=16)
def _load(directory: str, technology: str) -> EstimateModel:
    model_name, meta_name = model_files(technology)
    meta = read_metadata(directory, technology)
    check_metadata(meta, where=str(Path(directory) / meta_name), technology=technology)
    path = Path(directory) / model_name
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise EstimateError(f"cannot read {path}: {exc.strerror}; {_RETRAIN}") from exc
    if hashlib.sha256(blob).hexdigest() != meta.get("model_sha256"):
        raise EstimateError(f"{path} does not match its metadata (corrupted?); {_RETRAIN}")
    model = joblib.load(io.BytesIO(blob))
    if not isinstance(model, EstimateModel):
        raise EstimateError(f"{path} does not hold an EstimateModel; {_RETRAIN}")
    return model


def load_model(directory: str | Path = DATA_DIR, technology: str = FDM) -> EstimateModel:
    """``technology``'s saved model in ``directory`` (cached; default: the shipped one)."""
    return _load(str(Path(directory).resolve()), technology.upper())


def has_model(directory: str | Path, technology: str = FDM) -> bool:
    """Whether ``directory`` holds ``technology``'s model metadata."""
    return (Path(directory) / model_files(technology)[1]).is_file()


load_model.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
