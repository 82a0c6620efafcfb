"""``catalog check`` evaluates a catalog as the optimizer does: an expression that is
non-finite for every design (or at the defaults) is an error at its PATH:LINE:COL with the
expression named — the same catalog ``design-space`` refuses."""

from __future__ import annotations

from pathlib import Path

from configurator.entrypoints.cli import main
from configurator.settings import REPO_ROOT

ENCLOSURE = (REPO_ROOT / "catalogs" / "enclosure.yaml").read_text(encoding="utf-8")
STANDOFF = "    expr: max(3.0, 2 * screw.nominal)\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "enclosure.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_a_derived_value_broken_everywhere_is_an_error_at_its_line(tmp_path, capsys):
    assert STANDOFF in ENCLOSURE
    text = ENCLOSURE.replace(STANDOFF, '    expr: "10**10**10**10"\n')
    path = _write(tmp_path, text)
    assert main(["catalog", "check", str(path), "--mesh-samples", "0"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    line = _line_of(text, '    expr: "10**10**10**10"')
    assert len(out) == 1, out  # the root cause only; what reads it is named in the message
    assert out[0].startswith(f"{path}:{line}:11: derived.standoff.expr: "), out[0]
    assert "derived value 'standoff' = 10**10**10**10 is not finite" in out[0]
    assert "at every one of the designs sampled" in out[0]
    assert "inner_height" in out[0] and "volume" in out[0]
    # the optimizer's side refuses the same catalog
    assert main(["design-space", str(path), "--json"]) == 2
    assert "non-finite values for standoff" in capsys.readouterr().err


def test_an_objective_non_finite_at_the_defaults_is_an_error(tmp_path, capsys):
    anchor = "objectives:\n"
    extra = "objectives:\n  odd:\n    expr: log(board_length - 80)\n    unit: '1'\n    sense: min\n"
    text = ENCLOSURE.replace(anchor, extra, 1)
    path = _write(tmp_path, text)
    assert main(["catalog", "check", str(path), "--mesh-samples", "0"]) == 1
    out = capsys.readouterr().out
    line = _line_of(text, "    expr: log(board_length - 80)")
    assert f"{path}:{line}:11: objectives.odd.expr: objective 'odd' = log(board_length - 80)" in out
    assert "at the catalog defaults (-inf)" in out


def test_the_shipped_catalogs_evaluate_cleanly(capsys):
    assert main(["catalog", "check", str(REPO_ROOT / "catalogs"), "--mesh-samples", "0"]) == 0
