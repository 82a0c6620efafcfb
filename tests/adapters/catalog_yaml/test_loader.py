"""Loader behaviour outside the broken corpus: hashes, directories, schema, CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from configurator.adapters.catalog_yaml import find_catalog, load_catalog, load_catalogs
from configurator.core.catalog.model import catalog_json_schema
from configurator.entrypoints.cli import main
from configurator.errors import CatalogError, RequirementsError

HERE = Path(__file__).parent
MINI = HERE / "mini.yaml"
REPO = HERE.parents[2]


def test_mini_loads_with_hash_and_path():
    cat = load_catalog(MINI)
    assert cat.id == "mini"
    assert cat.path == MINI
    assert cat.content_hash == hashlib.sha256(MINI.read_bytes()).hexdigest()
    assert cat.program.order == ["outer_length", "area", "volume"]


def test_derived_order_follows_dependencies_not_file_order(tmp_path):
    text = MINI.read_text().replace(
        "  outer_length: board_length + 2 * wall\n  area: outer_length * outer_length\n",
        "  area: outer_length * outer_length\n  outer_length: board_length + 2 * wall\n",
    )
    path = tmp_path / "mini.yaml"
    path.write_text(text)
    assert load_catalog(path).program.order == ["outer_length", "area", "volume"]


def test_block_scalar_expression_error_points_into_the_block(tmp_path):
    text = MINI.read_text().replace(
        "  area: outer_length * outer_length\n",
        "  area: >-\n    outer_length *\n    nope\n",
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == (27, 5)
    assert "unknown name 'nope'" in problem.message


@pytest.mark.parametrize(
    ("replacement", "position"),
    [
        ("  area: outer_length *\n        nope\n", (26, 9)),  # plain scalar over two lines
        ('  area: "outer_length * nope"\n', (25, 25)),  # quoted
        ("  area: |\n    outer_length * (\n      nope)\n", (27, 7)),  # literal block
    ],
)
def test_expression_error_positions_follow_yaml_styles(tmp_path, replacement, position):
    text = MINI.read_text().replace("  area: outer_length * outer_length\n", replacement)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == position, str(problem)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"- just\n- a list\n", "must be a YAML mapping"),
        (b"", "must be a YAML mapping"),
        (b"a: [1, 2\n", "YAML error"),
    ],
)
def test_unreadable_documents(tmp_path, content, message):
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:")


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(tmp_path / "absent.yaml")


def test_load_catalogs_reports_duplicate_ids(tmp_path):
    shutil.copy(MINI, tmp_path / "a.yaml")
    shutil.copy(MINI, tmp_path / "b.yaml")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    (problem,) = info.value.problems
    assert problem.path.endswith("b.yaml") and "also used by" in problem.message


def test_load_catalogs_collects_problems_of_every_file(tmp_path):
    for name in ("unknown_name", "bad_id"):
        shutil.copy(HERE / "broken" / f"{name}.yaml", tmp_path / f"{name}.yaml")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    assert {Path(p.path).name for p in info.value.problems} == {"unknown_name.yaml", "bad_id.yaml"}


def test_find_catalog_by_id_and_path(tmp_path):
    shutil.copy(MINI, tmp_path / "mini.yaml")
    assert find_catalog("mini", tmp_path).id == "mini"
    assert find_catalog(str(MINI), tmp_path).id == "mini"
    with pytest.raises(RequirementsError, match="unknown catalog 'nope'"):
        find_catalog("nope", tmp_path)


def test_schema_rejects_unknown_keys_and_is_published():
    schema = catalog_json_schema()
    assert schema["additionalProperties"] is False
    assert "schema" in schema["required"] and "parameters" in schema["properties"]
    published = json.loads((REPO / "docs" / "catalog.schema.json").read_text())
    assert published == schema, "run: configurator catalog schema > docs/catalog.schema.json"


def test_cli_schema_prints_json(capsys):
    assert main(["catalog", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "configurator catalog"


def test_cli_check_ok_and_list(capsys):
    # mini.yaml is a loader fixture, not a buildable enclosure: skip the mesh samples
    assert main(["catalog", "check", "--mesh-samples", "0", str(MINI)]) == 0
    assert main(["catalog", "list", "--dir", str(REPO / "catalogs"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"enclosure", "bone-plate"} <= {r["id"] for r in rows}


def test_cli_check_missing_file_exits_1(tmp_path, capsys):
    assert main(["catalog", "check", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read catalog" in capsys.readouterr().out
