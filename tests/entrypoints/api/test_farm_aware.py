"""A server whose farm has only PLA FDM printers (real app on loopback): the catalogs say
which materials it can make and why not, runs are limited to it (422 / infeasible with the
reason), designs fit its bed, an existing titanium design can no longer be ordered (409),
quotes promise what the order then shows, and ``configurator design --farm URL`` reads the
same capability view."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from stl import mesh as stl_mesh

from configurator.core.farm.router import fits_bed
from configurator.entrypoints.cli import main
from configurator.settings import Settings
from tests.support.live_app import Server, wait_finished

ADMIN = "farm-aware-admin"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
BED = (250.0, 210.0, 220.0)


def node(api, name, technology, bed, materials):
    r = api.post(
        "/api/v1/farm/nodes",
        # printers that clear their own plates at once: quotes here are print time alone
        # (plate changes and shifts in quotes: tests/services/farm/test_plates.py)
        json={
            "name": name,
            "technology": technology,
            "build_volume": bed,
            "materials": materials,
            "auto_clear": True,
            "setup_s": 0.0,
        },  # fmt: skip
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    return r.json()["node"]


def run(api, body):
    r = api.post("/api/v1/runs", json={"evals": 200, "top": 4, "seed": 2, **body})
    assert r.status_code == 202, r.text
    return wait_finished(api, r.json()["id"], timeout=120)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("farm-aware"), admin_key=ADMIN, run_workers=1
    )
    with Server(settings) as api:
        node(api, "mk4-pla", "FDM", BED, {"PLA": 5000})
        # a titanium design made while the farm had an SLM printer, which then left
        m290 = node(api, "m290", "SLM", (250, 250, 325), {"Ti-6Al-4V": 8000})
        ti = run(
            api,
            {"catalog_id": "bone-plate", "material": "Ti-6Al-4V", "objectives": ["implant_volume"]},
        )
        assert ti["status"] == "done", ti["message"]
        assert api.delete(f"/api/v1/farm/nodes/{m290['id']}", headers=AUTH).status_code == 204
        yield api, ti["designs"][0]


def test_catalogs_say_which_materials_the_farm_can_make(farm):
    api, _ = farm
    plate = {m["name"]: m for m in api.get("/api/v1/catalogs/bone-plate").json()["materials"]}
    assert {n: (m["available"], m["unavailable_reason"]) for n, m in plate.items()} == {
        "Ti-6Al-4V": (False, "no printer in the farm prints Ti-6Al-4V (SLM)"),
        "316L": (False, "no printer in the farm prints 316L (SLM)"),
        "PEEK": (False, "no printer in the farm prints PEEK (FDM)"),
    }
    box = {
        m["name"]: m["available"] for m in api.get("/api/v1/catalogs/enclosure").json()["materials"]
    }
    assert box == {"PLA": True, "PETG": False, "ASA": False}
    page = api.get("/products/bone-plate").text
    assert "no printer in the farm prints Ti-6Al-4V (SLM)" in page  # the form's data
    assert "demo-banner" not in page  # a real printer: no demo time


def test_runs_are_limited_to_the_farm(farm):
    api, _ = farm
    r = api.post("/api/v1/runs", json={"catalog_id": "bone-plate", "material": "Ti-6Al-4V"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "loc": ["body", "material"],
            "msg": "no printer in the farm prints Ti-6Al-4V (SLM)",
            "type": "value_error",
        }
    ]
    nothing = run(api, {"catalog_id": "bone-plate"})  # best for my goals: nothing to search
    assert nothing["status"] == "infeasible" and nothing["designs"] == []
    assert "cannot make this product" in nothing["message"]
    assert "no printer in the farm prints 316L (SLM)" in nothing["message"]
    assert nothing["infeasibility"]["evaluations"] == 0


def test_enclosure_search_returns_only_pla_designs_that_fit_the_bed(farm):
    api, _ = farm
    result = run(
        api,
        {
            "catalog_id": "enclosure",
            "requirements": {"board_length": 122, "board_width": 60},
            "objectives": ["mass", "stiffness"],
            "evals": 400,
        },
    )
    assert result["status"] == "done", result["message"]
    fingerprint = result["farm"]["fingerprint"]
    assert [p["name"] for p in result["farm"]["printers"]] == ["mk4-pla"]
    for design in result["designs"]:
        assert design["material"] == "PLA" and design["farm"] == fingerprint
        assert design["constraints"]["fits a printer of the farm"]["satisfied"]
        stl = api.get(f"/api/v1/designs/{design['design_id']}.stl")
        m = stl_mesh.Mesh(stl_mesh.Mesh.from_file("x.stl", fh=io.BytesIO(stl.content)).data)
        extents = tuple(float(v) for v in m.max_ - m.min_)
        assert fits_bed(extents, BED), (extents, design["design_id"])
        assert extents[0] > BED[0]  # the plate is wider than the bed: it fits turned only


def test_an_existing_titanium_design_is_refused_naming_what_is_missing(farm):
    api, ti = farm
    for r in (
        api.post("/api/v1/orders", json={"design_id": ti["design_id"], "material": "Ti-6Al-4V"}),
        api.get(f"/api/v1/designs/{ti['design_id']}/quote", params={"material": "Ti-6Al-4V"}),
    ):
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert "SLM" in detail and "Ti-6Al-4V" in detail
    assert api.get("/api/v1/farm/jobs", headers=AUTH).json() == []  # nothing was created


def test_the_order_shows_the_time_the_quote_promised(farm):
    api, _ = farm
    pla = run(api, {"catalog_id": "enclosure", "material": "PLA", "objectives": ["mass"], "top": 1})
    design = pla["designs"][0]["design_id"]
    quote = api.get(f"/api/v1/designs/{design}/quote", params={"material": "PLA", "quantity": 2})
    assert quote.status_code == 200, quote.text
    q = quote.json()
    assert q["quantity"] == 2 and q["printers"] == ["mk4-pla", "mk4-pla"]
    assert q["price_total"] == pytest.approx(2 * q["price_each"], abs=0.011)
    assert q["print_seconds"] > 0 and q["grams"] > 0 and q["time_scale"] == 1.0
    ready = datetime.fromisoformat(q["ready_by"]).timestamp()
    quoted = datetime.fromisoformat(q["quoted_at"]).timestamp()
    assert ready - quoted == pytest.approx(2 * q["print_seconds"], rel=0.01, abs=60)  # speed 1
    order = api.post("/api/v1/orders", json={"design_id": design, "material": "PLA", "quantity": 2})
    assert order.status_code == 201, order.text
    placed = order.json()
    assert abs(datetime.fromisoformat(placed["ready_by"]).timestamp() - ready) < 60
    # bad input: field-level 422s, unknown design 404
    for params, field in (
        ({"material": "gold"}, "material"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 21}, "quantity"),
        ({"quantity": "two"}, "quantity"),
    ):
        r = api.get(f"/api/v1/designs/{design}/quote", params=params)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
    assert api.get(f"/api/v1/designs/{'f' * 64}/quote").status_code == 404


def test_capabilities_for_operators(farm):
    api, _ = farm
    assert api.get("/api/v1/farm/capabilities").status_code == 401
    caps = api.get("/api/v1/farm/capabilities", headers=AUTH).json()
    assert [t["technology"] for t in caps["technologies"]] == ["FDM"]
    (printer,) = caps["printers"]
    assert printer["name"] == "mk4-pla" and printer["accepting"] and printer["state"] == "idle"
    assert list(printer["materials"]) == ["PLA"] and printer["build_volume"] == list(BED)
    assert caps["fingerprint"].startswith("farm:")


def test_design_command_reads_the_farm(farm, tmp_path, capsys):
    api, _ = farm
    url = str(api.base_url).rstrip("/")
    args = ["design", "enclosure", "--farm", url, "--farm-key", ADMIN, "--objective", "mass"]
    args += ["--require", "board_length=118", "--evals", "300", "--top", "3", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    a = (tmp_path / "a" / "designs.json").read_bytes()
    assert a == (tmp_path / "b" / "designs.json").read_bytes()  # same farm, same seed
    records = json.loads(a)
    farm_json = json.loads((tmp_path / "a" / "farm.json").read_text())
    assert farm_json["source"] == url and [p["name"] for p in farm_json["printers"]] == ["mk4-pla"]
    assert {r["material"] for r in records} == {"PLA"}
    assert {r["farm"] for r in records} == {farm_json["fingerprint"]}
    capsys.readouterr()
    assert (
        main(
            [
                "design",
                "bone-plate",
                "--farm",
                url,
                "--farm-key",
                ADMIN,
                "--material",
                "PEEK",
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no printer in the farm prints PEEK (FDM)" in err[0]
    assert main([*args[:3], url, "--farm-key", "wrong", "--out", str(tmp_path / "d")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "401" in err[0]
    plain = ["design", "enclosure", "--evals", "100", "--quiet", "--out", str(tmp_path / "e")]
    assert main(plain) == 0  # no farm: the catalog's own printers, records without a farm
    assert {r.get("farm") for r in json.loads((tmp_path / "e" / "designs.json").read_text())} == {
        None
    }
