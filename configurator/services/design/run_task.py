"""What a worker process (or a Dask worker) executes for one run: the design service on
the stored request, progress events streamed through ``emit`` at most every
:data:`PROGRESS_EVERY_S` (plus the last one), ``should_stop`` polled between generations.

Kept small and importable on its own: worker processes preload this module (and, through
it, the optimizer and the geometry) once, before their first run.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from configurator.engines.optimize import OptimizationResult
from configurator.services.catalogs import resolve_catalog
from configurator.services.design.request import DesignRequest, RunContext
from configurator.services.design.service import run_request

#: at most this often a progress event (s): ~10 a second per run
PROGRESS_EVERY_S = 0.1
#: catalog file -> the catalog parsed from it by this process (reused while the file's
#: bytes hash to its ``content_hash``: parsing took a third of a short run)
_CATALOGS: dict[str, Any] = {}


def run_catalog(context: RunContext) -> Any | None:
    """The run's catalog file (``context.catalog_path``), parsed once per process while its
    content stays the same; None when the run names no file or it cannot be read (the
    design service then reports the problem)."""
    if not context.catalog_path:
        return None
    path = Path(context.catalog_path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    cached = _CATALOGS.get(str(path))
    if cached is None or cached.content_hash != digest:
        cached = _CATALOGS[str(path)] = resolve_catalog(path)
    return cached


def execute_run(
    request: dict[str, Any],
    context: dict[str, Any],
    *,
    emit: Callable[[str, dict[str, Any]], None],
    should_stop: Callable[[], bool],
) -> OptimizationResult:
    """Run one stored request (``request``/``context``: their JSON) and return the result
    (picklable). Emits ``status {"status": "started", "pid": ...}`` first."""
    emit("status", {"status": "started", "pid": os.getpid()})
    last = [0.0]

    def on_progress(event: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or event.fraction >= 1.0:
            last[0] = now
            emit("progress", event.model_dump(mode="json"))

    run_context = RunContext.model_validate(context)
    return run_request(
        DesignRequest.model_validate(request),
        run_context,
        catalog=run_catalog(run_context),
        on_progress=on_progress,
        should_stop=should_stop,
    )


def execute_on_dask(request: dict[str, Any], context: dict[str, Any], channel: Any) -> Any:
    """The Dask task: :func:`execute_run` with a :class:`~configurator.adapters.run_channels.DaskChannel`."""
    return execute_run(request, context, emit=channel.put, should_stop=channel.stopped)
