"""The web configurator in a real browser (Debian's Chromium through Playwright) against
the real server (``python -m configurator serve --demo-nodes 2``) on a free loopback port.

Screenshots of every step go to ``test-output/web/`` (ignored by git).
"""

from __future__ import annotations

import base64
import io
import time

import httpx
import numpy as np
import pytest

from configurator.core.farm.demo import box_stl
from tests.entrypoints.web.conftest import OUT, live_server, require_browser

pytestmark = pytest.mark.browser

require_browser()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server process with 2 fast demo nodes; yields its base URL."""
    data = tmp_path_factory.mktemp("web")
    args = ["--demo-nodes", "2", "--demo-speed", "50000"]
    with live_server(data, args, admin_key="browser-admin") as url:
        yield url


def canvas_pixels(page) -> np.ndarray:
    """The 3D preview's pixels (RGBA, uint8) read from the WebGL canvas."""
    from matplotlib.image import imread

    data_url = page.eval_on_selector("#viewer canvas", "c => c.toDataURL('image/png')")
    png = base64.b64decode(data_url.split(",", 1)[1])
    return (imread(io.BytesIO(png), format="png") * 255).astype(np.uint8)


def test_configure_preview_download_and_order(server, page, tmp_path):
    page.goto(server + "/")
    page.wait_for_selector(".product-card")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.shot("gallery")

    page.click("text=Electronics enclosure")
    page.wait_for_selector("#req-board_length")
    page.fill("#req-board_length", "90")
    page.fill("#req-board_width", "60")
    page.check('input[name="mode"][value="pareto"]')  # mass + stiffness trade-offs
    page.select_option("#material", "PLA")
    page.click("#advanced summary")
    page.fill("#search-evals", "800")
    page.fill("#search-top", "6")
    page.shot("configured")

    page.click("#generate")
    page.wait_for_selector("#run-panel:not([hidden])")
    page.wait_for_function(
        "() => Number(document.getElementById('stat-generation').textContent) >= 1"
    )
    page.shot("progress")
    page.wait_for_selector('#run-panel[data-state="done"]', timeout=60_000)
    assert page.eval_on_selector("#run-progress", "p => p.value") == 1
    assert page.inner_text("#stat-evals").replace(",", "").startswith("800 / 800")

    points = page.locator("#chart .point")
    assert points.count() >= 2
    points.nth(1).click()
    page.wait_for_selector("#chart .point.selected")
    selected = page.get_attribute("#chart .point.selected", "data-design-id")
    assert selected == points.nth(1).get_attribute("data-design-id")
    page.wait_for_function(
        "id => (document.getElementById('viewer').dataset.loaded || '').includes(id)", arg=selected
    )
    page.wait_for_timeout(300)  # a few frames
    pixels = canvas_pixels(page)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the 3D preview is blank"
    blue = (pixels[..., 2].astype(int) - pixels[..., 0].astype(int)) > 60  # the part is blue
    assert blue.mean() > 0.01
    page.wait_for_selector("#param-table tr")
    page.shot("selected-design")

    with page.expect_download() as dl:
        page.click("#download-stl")
    stl_path = tmp_path / "design.stl"
    dl.value.save_as(stl_path)
    from stl import mesh as stl_mesh

    m = stl_mesh.Mesh.from_file(str(stl_path))
    assert len(m.vectors) > 100 and m.is_closed(exact=True)
    assert np.all(m.max_ - m.min_ > 5)

    page.select_option("#order-material", "PLA")
    page.fill("#order-quantity", "1")
    page.click("#place-order")
    page.wait_for_function(
        "() => location.pathname.startsWith('/orders/') || !document.getElementById('order-error')?.hidden",
        timeout=30_000,
    )
    if "/orders/" not in page.url:
        pytest.fail("the order was refused: " + page.inner_text("#order-error"))
    page.wait_for_load_state()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#jobs-table td.node')].some(td => td.textContent.startsWith('demo-'))",
        timeout=30_000,
    )
    page.shot("order-assigned")
    page.wait_for_selector('body[data-order-state="done"]', timeout=45_000)
    page.shot("order-done")


def test_bad_value_shows_the_field_error(server, page):
    page.goto(server + "/products/enclosure")
    page.fill("#req-board_length", "5")
    page.click("#generate")
    error = page.inner_text("#req-board_length-error")
    assert "between 20 and 250 mm" in error
    assert page.get_attribute("#req-board_length", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "req-board_length"
    assert page.is_hidden("#run-panel")
    page.shot("browser-check")

    # the server's own check, shown beside the same field: widen the page's copy of the
    # bounds so the browser lets 300 through, and the server refuses it
    def widen(route):
        response = route.fetch()
        body = response.text().replace('"max": 250.0', '"max": 999.0')
        route.fulfill(response=response, body=body)

    page.route("**/products/enclosure", widen)
    page.goto(server + "/products/enclosure")
    page.fill("#req-board_length", "300")
    page.click("#generate")
    page.wait_for_function("() => document.getElementById('req-board_length-error').textContent")
    assert "between 20 and 250 mm (got 300)" in page.inner_text("#req-board_length-error")
    page.shot("server-check")


def test_infeasible_requirements_explain_what_to_relax(server, page):
    page.goto(server + "/products/enclosure")
    page.fill("#req-load", "500")
    page.fill("#req-max_deflection", "0.1")
    page.click("#advanced summary")
    page.fill("#search-evals", "300")
    page.click("#generate")
    page.wait_for_selector("#infeasible:not([hidden])", timeout=60_000)
    text = page.inner_text("#infeasible")
    assert "No design meets all your requirements" in text
    assert "Raise allowed lid deflection to at least" in text
    assert "Lower load on the lid to at most" in text
    assert "lid bends more than allowed" in text
    page.shot("infeasible")


def test_farm_dashboard_with_the_admin_key(server, page):
    # an operator's resin job: no SLA printer in this demo farm, so it waits, saying why
    resin = httpx.post(
        server + "/api/v1/farm/jobs",
        headers={"Authorization": "Bearer browser-admin"},
        files={"file": ("r.stl", box_stl(20, 20, 5), "application/octet-stream")},
        data={"design_id": "resin-part", "material": "RESIN", "bbox_x": 20, "bbox_y": 20,
              "bbox_z": 5, "est_seconds": 60, "grams": 2},
    )  # fmt: skip
    assert resin.status_code == 201 and resin.json()["state"] == "queued", resin.text
    page.goto(server + "/farm")
    page.fill("#admin-key", "wrong-key")
    page.click("#key-form button")
    page.wait_for_function("() => document.getElementById('admin-key-error').textContent")
    assert page.is_hidden("#dashboard")
    page.fill("#admin-key", "browser-admin")
    page.click("#key-form button")
    page.wait_for_selector("#dashboard:not([hidden])")
    page.wait_for_selector("#nodes .node")
    names = page.locator("#nodes .node h3").all_inner_texts()
    assert len(names) == 2 and all(n.startswith("demo-") for n in names)
    page.wait_for_function("() => document.querySelectorAll('#load-chart polyline').length == 2")
    assert page.locator("#events li").count() > 0
    waiting = page.locator(f'#waiting-jobs tr[data-job-id="{resin.json()["id"]}"]')
    assert "no printer in the farm prints RESIN (SLA)" in waiting.inner_text()
    ticks = [float(v) for v in page.eval_on_selector_all(
        "#load-chart text.tick", "ts => ts.map(t => t.dataset.value)")]  # fmt: skip
    assert ticks[0] == 0 and len(ticks) >= 3
    step = ticks[1]
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert any(abs(mantissa - m) < 1e-9 for m in (1, 2, 2.5, 5)), ticks  # a round step
    assert np.allclose(np.diff(ticks), step)  # evenly spaced, top a whole number of steps
    labels = page.eval_on_selector_all("#load-chart text.tick", "ts => ts.map(t => t.textContent)")
    assert all(len(label) <= 6 for label in labels), labels  # no 0.30000000000000004
    page.shot("dashboard")


def test_materials_the_farm_cannot_print_are_shown_disabled_with_the_reason(server, page):
    """Two FDM demo printers (PLA, PETG, ASA, ABS): no bone-plate material can be made."""
    page.goto(server + "/products/bone-plate")
    assert "faster than real time" in page.inner_text("#demo-banner")
    for material, tech in (("Ti-6Al-4V", "SLM"), ("316L", "SLM"), ("PEEK", "FDM")):
        option = page.locator(f'#material option[value="{material}"]')
        assert option.is_disabled()
        reason = f"no printer in the farm prints {material} ({tech})"
        assert option.get_attribute("title") == reason
        assert reason in page.inner_text(f'#material-farm li[data-material="{material}"]')
    page.click("#advanced summary")
    page.fill("#search-evals", "100")
    page.click("#generate")  # best for my goals: nothing to search
    page.wait_for_selector("#infeasible:not([hidden])", timeout=60_000)
    text = page.inner_text("#infeasible")
    assert "We cannot make this product right now" in text
    assert "no printer in the farm prints Ti-6Al-4V (SLM)" in text
    page.shot("bone-plate-unavailable")
    page.goto(server + "/products/enclosure")
    assert not page.locator('#material option[value="ASA"]').is_disabled()
    assert page.locator("#material-farm li").count() == 0


def test_a_queued_search_shows_its_place_then_runs(server, page):
    """One run worker (CONFIGURATOR_RUN_WORKERS=1): a search started while another runs is
    queued, and the page says where it stands until it starts."""
    blocker = httpx.post(
        server + "/api/v1/runs",
        json={"catalog_id": "enclosure", "objectives": ["mass"], "evals": 20000, "seed": 4},
        timeout=60,
    ).json()
    deadline = time.monotonic() + 60
    while (
        httpx.get(f"{server}/api/v1/runs/{blocker['id']}", timeout=30).json()["status"] == "queued"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page.goto(server + "/products/enclosure")
    page.click("#advanced summary")
    page.fill("#search-evals", "300")
    page.click("#generate")
    page.wait_for_selector('#run-panel[data-queue-position="1"]')
    assert "Queued: next in line" in page.inner_text("#run-status")
    page.shot("queued")
    httpx.delete(f"{server}/api/v1/runs/{blocker['id']}", timeout=30)
    page.wait_for_selector('#run-panel[data-state="done"]', timeout=60_000)
    assert page.get_attribute("#run-panel", "data-queue-position") is None


def test_no_page_requests_another_host(server, browser):
    """The gallery, a product, the farm dashboard and the API docs load everything from this
    server: no CDN, no font host, no favicon elsewhere."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    hosts: list[str] = []
    context.on("request", lambda req: hosts.append(req.url))
    page = context.new_page()
    try:
        page.goto(server + "/")
        page.wait_for_selector(".product-card")
        page.goto(server + "/products/enclosure")
        page.wait_for_selector("#req-board_length")
        page.goto(server + "/farm")
        page.wait_for_selector("#key-form")
        page.goto(server + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        page.wait_for_selector(".opblock-tag", timeout=30_000)
        assert "configurator" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock").count() > 20
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "docs.png"))
        page.wait_for_timeout(500)  # late requests (favicon, fonts, validator badge)
    finally:
        context.close()
    assert any(u.endswith("/docs") for u in hosts)
    foreign = [u for u in hosts if not u.startswith(server) and not u.startswith("data:")]
    assert foreign == [], foreign


def test_dashboard_plate_cleared_button(server, page):
    """A node without auto-clear finishes a build: its card says the plate waits for an
    operator; the Plate cleared button records the action and the node may claim again."""
    admin = httpx.Client(base_url=server, headers={"Authorization": "Bearer browser-admin"})
    node = admin.post(
        "/api/v1/farm/nodes",
        json={"name": "manual-1", "technology": "FDM", "build_volume": [200, 200, 200],
              "materials": {"TPU": 1000}, "auto_clear": False, "setup_s": 0},
    ).json()  # fmt: skip
    nid, key = node["node"]["id"], node["node_key"]
    stl = box_stl(20, 20, 10)
    fields = {"design_id": "tpu-part", "material": "TPU", "bbox_x": "20", "bbox_y": "20",
              "bbox_z": "10", "est_seconds": "60", "grams": "5"}  # fmt: skip
    job = admin.post("/api/v1/farm/jobs", files={"file": ("p.stl", stl)}, data=fields).json()
    agent = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key}"})
    assert agent.post("/api/v1/farm/agent/claim").json()["job"]["id"] == job["id"]
    agent.post(f"/api/v1/farm/agent/jobs/{job['id']}/complete",
               json={"actual_seconds": 60, "grams_used": 5})  # fmt: skip
    page.goto(server + "/farm")
    page.fill("#admin-key", "browser-admin")
    page.click("#key-form button")
    card = f'#nodes .node[data-node-id="{nid}"]'
    page.wait_for_selector(f'{card} .plate[data-plate="waiting"]')
    page.shot("plate-waiting")
    page.click(f"{card} button:has-text('Plate cleared')")
    page.wait_for_selector(f'{card} .plate[data-plate="clear"]')
    page.wait_for_function(
        "() => [...document.querySelectorAll('#events li strong')].some(s => s.textContent === 'plate-cleared')"
    )
    assert admin.get(f"/api/v1/farm/nodes/{nid}").json()["plate_clear_at"] is not None
    admin.close()
    agent.close()


def test_dashboard_pauses_a_printing_job(server, page):
    """The Printing now table: Pause stores the operator's command for the node's next
    report (the OctoPrint farm test follows it to the printer)."""
    admin = httpx.Client(base_url=server, headers={"Authorization": "Bearer browser-admin"})
    node = admin.post(
        "/api/v1/farm/nodes",
        json={"name": "pausable", "technology": "FDM", "build_volume": [200, 200, 200],
              "materials": {"PA-CF": 1000}, "auto_clear": True, "setup_s": 0},
    ).json()  # fmt: skip
    fields = {"design_id": "pacf-part", "material": "PA-CF", "bbox_x": "20", "bbox_y": "20",
              "bbox_z": "10", "est_seconds": "600", "grams": "5"}  # fmt: skip
    made = admin.post(
        "/api/v1/farm/jobs", files={"file": ("p.stl", box_stl(20, 20, 10))}, data=fields
    )
    assert made.status_code == 201, made.text
    job = made.json()
    agent = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {node['node_key']}"})
    assert agent.post("/api/v1/farm/agent/claim").json()["job"]["id"] == job["id"]
    page.goto(server + "/farm")
    page.fill("#admin-key", "browser-admin")
    page.click("#key-form button")
    row = f'#printing-jobs tr[data-job-id="{job["id"]}"]'
    page.wait_for_selector(row)
    page.click(f"{row} button:has-text('Pause')")
    page.wait_for_function(
        f"() => document.querySelector('{row}')?.textContent.includes('pause requested')"
    )
    assert admin.get(f"/api/v1/farm/jobs/{job['id']}").json()["command"] == "pause"
    reply = agent.post(
        f"/api/v1/farm/agent/jobs/{job['id']}/progress", json={"percent": 5.0, "seconds_left": 60.0}
    ).json()
    assert reply["command"] == "pause"
    page.shot("pause-requested")
    admin.post(f"/api/v1/farm/jobs/{job['id']}/cancel")
    admin.close()
    agent.close()
