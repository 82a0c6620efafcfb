"""Which printers one agent process drives: from ``node run`` flags or a config file.

A config file (YAML) lists several printers for one agent process, one farm node each::

    server: http://farm.local:8000        # optional; --server wins
    printers:
      - name: mk3-a                       # for logs
        node_key: cfn_...                 # POST /api/v1/farm/nodes returned it
        octoprint: http://10.0.0.21       # the printer's OctoPrint
        octoprint_key: 7F3A...            # an application key of an OctoPrint user
        slicer_profile: [my_mk3.ini, my_pla.ini]   # optional; default: the committed profiles
        auto_clear: false                 # optional; the printer clears its own plate
      - name: sim-1
        node_key: cfn_...
        simulate: {speed: 60}             # a simulated printer instead

Relative profile paths are taken from the config file's folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, YAMLError

from configurator.errors import SettingsError


@dataclass(frozen=True)
class PrinterSpec:
    """One printer behind one farm node. Exactly one of ``octoprint`` (URL) and
    ``simulate`` (SimulatedPrinter keyword arguments) is set."""

    name: str
    node_key: str
    octoprint: str | None = None
    octoprint_key: str | None = None
    slicer_profile: tuple[Path, ...] = ()
    auto_clear: bool = False
    simulate: dict[str, Any] | None = None
    workdir: Path | None = None

    def validate(self) -> PrinterSpec:
        """Raise :class:`SettingsError` (one line) for a spec that cannot run."""
        where = f"printer {self.name!r}: " if self.name else ""
        if not self.node_key:
            raise SettingsError(f"{where}a node key is required (--node-key or node_key)")
        if (self.octoprint is None) == (self.simulate is None):
            raise SettingsError(f"{where}give exactly one of --octoprint URL and --simulate")
        if self.octoprint is not None:
            if not self.octoprint.startswith(("http://", "https://")):
                raise SettingsError(
                    f"{where}the OctoPrint URL must be http(s)://..., got {self.octoprint!r}"
                )
            if not self.octoprint_key:
                raise SettingsError(
                    f"{where}an OctoPrint API key is required (--octoprint-key, or CONFIGURATOR_OCTOPRINT_KEY)"
                )
        elif self.slicer_profile:
            raise SettingsError(f"{where}--slicer-profile is for OctoPrint printers only")
        for f in self.slicer_profile:
            if not f.is_file():
                raise SettingsError(f"{where}slicer profile {f} does not exist")
        return self

    def default_workdir(self) -> Path:
        """Per OctoPrint URL: the node's slicing work dirs (kept across restarts)."""
        if self.workdir is not None:
            return self.workdir
        tag = hashlib.sha256((self.octoprint or self.name).encode()).hexdigest()[:12]
        return Path.home() / ".cache" / "configurator" / "node" / tag


def load_config(path: Path) -> tuple[str | None, list[PrinterSpec]]:
    """``(server URL or None, printers)`` from a config file; SettingsError on bad input."""
    try:
        data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read --config {path}: {exc.strerror}") from exc
    except YAMLError as exc:
        raise SettingsError(
            f"--config {path} is not valid YAML: {str(exc).splitlines()[0]}"
        ) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("printers"), list)
        or not data["printers"]
    ):
        raise SettingsError(f"--config {path}: expected a mapping with a non-empty 'printers' list")
    base = Path(path).resolve().parent
    known = {
        "name",
        "node_key",
        "octoprint",
        "octoprint_key",
        "slicer_profile",
        "auto_clear",
        "simulate",
        "workdir",
    }
    specs: list[PrinterSpec] = []
    for i, entry in enumerate(data["printers"]):
        if not isinstance(entry, dict):
            raise SettingsError(f"--config {path}: printers[{i}] must be a mapping")
        unknown = sorted(set(entry) - known)
        if unknown:
            raise SettingsError(f"--config {path}: printers[{i}] has unknown keys {unknown}")
        profiles = entry.get("slicer_profile") or []
        if isinstance(profiles, str):
            profiles = [profiles]
        simulate = entry.get("simulate")
        if simulate is True:
            simulate = {}
        if simulate is not None and not isinstance(simulate, dict):
            raise SettingsError(
                f"--config {path}: printers[{i}].simulate must be a mapping or true"
            )
        spec = PrinterSpec(
            name=str(entry.get("name") or f"printer-{i + 1}"),
            node_key=str(entry.get("node_key") or ""),
            octoprint=str(entry["octoprint"]) if entry.get("octoprint") else None,
            octoprint_key=str(entry["octoprint_key"]) if entry.get("octoprint_key") else None,
            slicer_profile=tuple(base / str(p) for p in profiles),
            auto_clear=bool(entry.get("auto_clear", False)),
            simulate=simulate,
            workdir=base / str(entry["workdir"]) if entry.get("workdir") else None,
        )
        specs.append(spec.validate())
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise SettingsError(f"--config {path}: printer names must be unique")
    server = data.get("server")
    return (str(server) if server else None), specs
