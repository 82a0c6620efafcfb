"""Job sizes for the farm simulator from the estimation data set (adapter: reads a file).

The simulator's engine (:mod:`configurator.engines.simulation.simulate`) never opens files; entry
points call :func:`load_job_sizes` and pass the :class:`~configurator.engines.simulation.workload.SizeSample`
to :func:`~configurator.engines.simulation.workload.make_workload`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from configurator.adapters.dataset import DATASET_PATH, load_dataset
from configurator.core.estimate.features import FEATURE_NAMES
from configurator.engines.simulation.workload import SizeSample


def load_job_sizes(path: str | Path | None = None) -> SizeSample | None:
    """Rows of the slicer data set as job sizes: slicer ``seconds`` (reference printer),
    ``grams``, bounding box (``bbox_x``, ``bbox_y``, ``height``) mm and ``material``.

    ``path`` None means the committed data set; returns None when that file does not exist
    yet (the workload then uses its documented lognormal fallback). An explicit ``path``
    that cannot be read raises :class:`~configurator.errors.EstimateError`.
    """
    if path is None:
        if not DATASET_PATH.exists():
            return None
        path = DATASET_PATH
    ds = load_dataset(path)
    cols = [FEATURE_NAMES.index(c) for c in ("bbox_x", "bbox_y", "height")]
    keep = ds.seconds > 0
    return SizeSample(
        work_s=ds.seconds[keep],
        grams=ds.grams[keep],
        bbox_mm=np.ascontiguousarray(ds.X[keep][:, cols]),
        material=ds.material[keep],
        source=f"{Path(path).name} ({int(keep.sum())} rows, sha256 {ds.sha256[:12]})",
    )
