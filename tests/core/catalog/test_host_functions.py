"""Host functions print_seconds / print_grams: checked like other calls, bound at evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from configurator.adapters.catalog_yaml import load_catalog
from configurator.core.catalog.expressions import ESTIMATOR_KEY, compile_expression, parse
from configurator.core.catalog.program import CatalogScope
from configurator.core.design.estimator import AnalyticEstimator
from configurator.errors import CatalogError, ExpressionError
from configurator.settings import REPO_ROOT

ARGS = "v, a, x, y, h"


def scope() -> CatalogScope:
    s = CatalogScope(values={"v", "a", "x", "y", "h"})
    s.choices["material"] = ("PLA", "PETG", "ASA")
    return s


EST = AnalyticEstimator(
    densities={"PLA": 1.24, "PETG": 1.27, "ASA": 1.07}, flows={"PLA": 6.0, "PETG": 5.0}
)


def env(material) -> dict:
    return {
        "v": np.array([6000.0, 6000.0, -1.0, 3000.0]),
        "a": np.float64(100.0),
        "x": np.float64(10.0),
        "y": np.float64(10.0),
        "h": np.array([1.0, 1.0, 1.0, 0.2]),
        "material": material,
        ESTIMATOR_KEY: EST,
    }


def test_host_calls_are_grouped_by_material_and_bad_rows_are_nan():
    seconds = compile_expression(f"print_seconds({ARGS})", scope())
    grams = compile_expression(f"print_grams({ARGS})", scope())
    assert seconds.hosts == {"print_seconds"} and grams.hosts == {"print_grams"}
    e = env(np.array([0, 1, 0, 2]))
    # PLA: 6000/6 + 5 layers x 4 s; PETG: 6000/5 + 20; ASA (no flow: 6 mm^3/s): 3000/6 + 1 x 4
    np.testing.assert_allclose(seconds(e), [1020.0, 1220.0, np.nan, 504.0])
    np.testing.assert_allclose(grams(e), [7.44, 7.62, np.nan, 3.21])


def test_scalar_material_and_scalar_arguments():
    e = env(np.intp(1))
    np.testing.assert_allclose(compile_expression(f"print_seconds({ARGS})", scope())(e)[0], 1220)
    one = {**e, "v": np.float64(600.0), "h": np.float64(0.4)}
    out = compile_expression(f"print_grams({ARGS})", scope())(one)
    assert np.shape(out) == () and float(out) == pytest.approx(600 * 1.27 / 1000)


def test_optional_arguments_are_accepted_up_to_ten():
    text = f"print_seconds({ARGS}, a, a, 0, v, 2)"
    assert compile_expression(text, scope())(env(np.intp(0)))[0] == pytest.approx(1020.0)


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("print_seconds(v, a)", 1, 1, "print_seconds() takes 5 to 10 arguments, got 2"),
        ("1 +\n  print_grams(v, a, x, y, h, a, a, a, a, a, a)", 2, 3, "takes 5 to 10 arguments"),
        ("print_seconds(v=1)", 1, 1, "takes no keyword arguments"),
        ("print_time(v)", 1, 1, "host: print_grams, print_seconds"),
    ],
)
def test_checker_errors_have_positions(text, line, col, message):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert (info.value.line, info.value.col) == (line, col)
    assert message in info.value.message


def test_no_bound_estimator_is_a_clear_error():
    e = env(np.intp(0))
    del e[ESTIMATOR_KEY]
    with pytest.raises(ExpressionError, match="need a print estimator"):
        compile_expression(f"print_seconds({ARGS})", scope())(e)


def test_enclosure_program_depends_on_material_through_the_host_call():
    program = load_catalog(REPO_ROOT / "catalogs" / "enclosure.yaml").program
    assert program.host_calls == {"print_seconds"}
    assert "material" in program.inputs_of("print_time")
    plate = load_catalog(REPO_ROOT / "catalogs" / "bone-plate.yaml").program
    assert plate.host_calls == {"print_seconds"}  # print_time (issue 13)
    assert "material" in plate.inputs_of("print_time")
    assert "material" not in plate.inputs_of("implant_volume")


def test_catalog_with_a_wrong_arity_reports_file_line_col(tmp_path):
    text = (REPO_ROOT / "catalogs" / "enclosure.yaml").read_text(encoding="utf-8")
    start = text.index("  print_time:\n    expr: >-\n")
    end = text.index("    unit: min", start)
    bad = text[:start] + "  print_time:\n    expr: 1 + print_seconds(volume, 2) / 60\n" + text[end:]
    path = tmp_path / "enclosure.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    line = bad[:start].count("\n") + 2
    col = len("    expr: 1 + ") + 1
    assert f"{path}:{line}:{col}:" in str(info.value)
    assert "print_seconds() takes 5 to 10 arguments, got 2" in str(info.value)


def test_host_calls_in_derived_values_or_the_volume_are_refused(tmp_path):
    """The geometry reads derived values and the volume; it must never depend on an estimate."""
    text = (REPO_ROOT / "catalogs" / "enclosure.yaml").read_text(encoding="utf-8")
    anchor = "  plate_gap: {expr: 5.0"
    start = text.index(anchor)
    line_text = "    expr: 2 * print_seconds(volume, 1, 2, 3, 4)\n"
    bad = text[:start] + "  est_s:\n" + line_text + text[start:]
    path = tmp_path / "enclosure.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    line = bad[:start].count("\n") + 2
    col = line_text.index("print_seconds") + 1
    assert f"{path}:{line}:{col}:" in str(info.value)
    assert "print_seconds() may be called in objectives and constraints only" in str(info.value)
