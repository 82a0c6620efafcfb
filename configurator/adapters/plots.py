"""Gantt and load charts of a farm simulation (adapter: matplotlib, Agg, writes a PNG).

:func:`render_png` returns the PNG bytes (same result → same bytes: no timestamp, no
software tag); :func:`write_plot` writes them to a file.
"""

from __future__ import annotations

import io
from pathlib import Path

from configurator.engines.simulation.simulate import SimResult
from configurator.errors import FarmError

_MATERIAL_COLORS = {"PLA": "#4C72B0", "PETG": "#55A868", "ABS": "#DD8452"}
_OTHER = "#8172B2"


def render_png(result: SimResult, *, dpi: int = 110) -> bytes:
    """Two panels sharing the time axis (hours): top, one row per node with prints coloured
    by material, prints cut by a failure in red, down time in grey; bottom, jobs in the
    system, nodes printing and nodes down over time."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    wl = result.workload
    material = {j.job_id: j.material for j in wl.jobs}
    nodes = sorted(wl.nodes, key=lambda n: n.node_id)
    row = {n.node_id: k for k, n in enumerate(nodes)}
    h = 3600.0
    fig, (ax, ax2) = plt.subplots(
        2,
        1,
        figsize=(12, 3 + 0.28 * len(nodes) + 2.5),
        sharex=True,
        gridspec_kw={"height_ratios": [max(len(nodes), 4) * 0.28 + 1, 2.5]},
    )
    bars: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for iv in result.intervals:
        if iv.kind == "print":
            color = _MATERIAL_COLORS.get(material.get(iv.job_id or "", ""), _OTHER)
        elif iv.kind == "lost":
            color = "#C44E52"
        else:
            color = "#B0B0B0"
        bars.setdefault((row[iv.node_id], color), []).append(
            (iv.start_s / h, (iv.end_s - iv.start_s) / h)
        )
    for (r, color), spans in sorted(bars.items()):
        ax.broken_barh(spans, (r - 0.4, 0.8), facecolors=color, edgecolor="white", linewidth=0.3)
    ax.set_yticks(range(len(nodes)))
    ax.set_yticklabels([f"{n.node_id} {n.model} x{n.speed:g}" for n in nodes], fontsize=7)
    ax.invert_yaxis()
    rep = result.report
    ax.axvline(rep.lower_bound.value / h, color="black", linestyle="--", linewidth=1)
    ax.set_title(
        f"{rep.policy}: {rep.jobs} jobs on {rep.nodes} nodes, seed {rep.seed} — makespan "
        f"{rep.makespan_s / h:.1f} h (lower bound {rep.lower_bound.value / h:.1f} h, dashed), "
        f"mean flow {rep.mean_flow_s / h:.2f} h",
        fontsize=9,
    )
    legend = [Patch(color=c, label=m) for m, c in _MATERIAL_COLORS.items()]
    legend += [Patch(color="#C44E52", label="cut by failure"), Patch(color="#B0B0B0", label="down")]
    ax.legend(handles=legend, loc="upper right", fontsize=7, ncol=5)
    t = [p.t_s / h for p in result.timeline]
    ax2.step(t, [p.in_system for p in result.timeline], where="post", label="jobs in system")
    ax2.step(t, [p.printing for p in result.timeline], where="post", label="nodes printing")
    ax2.step(t, [p.down for p in result.timeline], where="post", label="nodes down")
    ax2.axhline(len(nodes), color="grey", linewidth=0.8, linestyle=":")
    ax2.set_xlabel("simulated time [h]")
    ax2.set_ylabel("count")
    ax2.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_plot(result: SimResult, path: str | Path) -> Path:
    """Write :func:`render_png` to ``path``; returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise FarmError(f"--plot writes a PNG; give a file name ending in .png, not {path.name!r}")
    data = render_png(result)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise FarmError(f"cannot write plot {path}: {exc.strerror}") from exc
    return path
