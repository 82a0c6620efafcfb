// Product page controller: form -> POST /api/v1/runs -> SSE progress -> results (chart,
// table, design detail, 3D preview, downloads) -> quote (price, ready by) -> order.
import { api, ApiError, el, fmt, fmtDuration, fmtTime, humanize } from "./api.js";
import { renderChart } from "./chart.js";
import { buildForm } from "./form.js";

const catalog = JSON.parse(document.getElementById("catalog-data").textContent);
const $ = (id) => document.getElementById(id);
const form = buildForm(catalog);
const ui = {
  form: $("config-form"), formError: $("form-error"), generate: $("generate"),
  runPanel: $("run-panel"), runTitle: $("run-title"), progress: $("run-progress"), status: $("run-status"),
  cancel: $("cancel-run"), placeholder: $("results-placeholder"), results: $("results"),
  infeasible: $("infeasible"), resultsMain: $("results-main"), chart: $("chart"), table: $("design-table"),
  detail: $("design-detail"), orderForm: $("order-form"),
};
let current = { runId: null, source: null, run: null, chart: null, selected: null, viewer: null, viewerPromise: null, quoteSeq: 0 };

function showFormError(message) {
  ui.formError.hidden = !message;
  ui.formError.textContent = message || "";
}

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  form.clearErrors();
  showFormError("");
  const { request, errors } = form.collect();
  if (Object.keys(errors).length) {
    form.showErrors(errors);
    showFormError("Please correct the highlighted fields.");
    return;
  }
  ui.generate.disabled = true;
  try {
    const run = await api("/api/v1/runs", { method: "POST", body: request });
    startWatching(run.id);
  } catch (err) {
    ui.generate.disabled = false;
    if (err instanceof ApiError && err.status === 422) {
      const unplaced = form.showServerErrors(err.fields);
      showFormError(unplaced.length ? unplaced.join("; ") : "Please correct the highlighted fields.");
    } else if (err instanceof ApiError && err.status === 429) {
      showFormError(`We are busy with other searches right now. ${err.message} Please try again shortly.`);
    } else {
      showFormError(err.message);
    }
  }
});

ui.cancel.addEventListener("click", async () => {
  if (!current.runId) return;
  ui.cancel.disabled = true;
  ui.status.textContent = "Cancelling…";
  try { await api(`/api/v1/runs/${current.runId}`, { method: "DELETE" }); }
  catch (err) { ui.status.textContent = err.message; ui.cancel.disabled = false; }
});

function startWatching(runId) {
  if (current.source) current.source.close();
  current.runId = runId;
  const url = new URL(window.location.href);
  url.searchParams.set("run", runId);
  history.replaceState(null, "", url);
  ui.placeholder.hidden = true;
  ui.results.hidden = true;
  ui.runPanel.hidden = false;
  ui.runTitle.textContent = "Searching designs…";
  ui.cancel.disabled = false;
  ui.cancel.hidden = false;
  ui.progress.value = 0;
  ui.status.textContent = "Queued…";
  ["generation", "evals", "feasible"].forEach((k) => { $(`stat-${k}`).textContent = "0"; });
  $("stat-best").textContent = "—";
  ui.runPanel.dataset.state = "running";

  const source = new EventSource(`/api/v1/runs/${runId}/events`);
  current.source = source;
  source.addEventListener("status", (e) => {
    const data = JSON.parse(e.data);
    if (data.status === "queued") showQueued(data);
    else if (data.status === "running") { delete ui.runPanel.dataset.queuePosition; ui.status.textContent = "Running…"; }
  });
  source.addEventListener("progress", (e) => showProgress(JSON.parse(e.data)));
  source.addEventListener("end", async (e) => {
    source.close();
    const data = JSON.parse(e.data);
    await finish(runId, data);
  });
  source.onerror = async () => {
    // the stream dropped (server restart, proxy): fall back to the run's state
    if (source.readyState === EventSource.CLOSED) {
      try { const run = await api(`/api/v1/runs/${runId}`); if (run.finished) await finish(runId, run); }
      catch (err) { ui.status.textContent = err.message; }
    }
  };
}

// the run waits for a free worker: its place in the queue and when it should start
function showQueued(q) {
  ui.runPanel.dataset.queuePosition = String(q.position);
  const when = q.expected_wait_s > 0 ? `expected to start in about ${fmtDuration(q.expected_wait_s)}` : "starting shortly";
  ui.status.textContent = q.position > 1
    ? `Queued: number ${q.position} in line (${q.ahead} search${q.ahead === 1 ? "" : "es"} ahead), ${when}.`
    : `Queued: next in line, ${when}.`;
}

function showProgress(p) {
  ui.progress.value = p.fraction ?? (p.budget ? p.evaluations / p.budget : 0);
  $("stat-generation").textContent = p.generation;
  $("stat-evals").textContent = `${p.evaluations.toLocaleString()} / ${p.budget.toLocaleString()}`;
  $("stat-feasible").textContent = p.n_feasible.toLocaleString();
  const best = Object.entries(p.best || {}).filter(([k]) => k !== "weighted");
  $("stat-best").textContent = best.length
    ? best.map(([k, v]) => { const o = catalog.objectives.find((x) => x.name === k); return `${o ? o.label || humanize(k) : humanize(k)} ${fmt(v, o && o.unit)}`; }).join(" · ")
    : "none feasible yet";
  ui.status.textContent = `Generation ${p.generation}: ${Math.round(ui.progress.value * 100)}% of the budget, ${fmtDuration(p.elapsed_s)} so far`;
}

async function finish(runId, end) {
  const run = await api(`/api/v1/runs/${runId}`);
  current.run = run;
  ui.generate.disabled = false;
  ui.cancel.hidden = true;
  ui.runPanel.dataset.state = run.status;
  if (run.progress) showProgress(run.progress);
  const titles = { done: "Search finished", cancelled: "Search cancelled", infeasible: "No design fits", failed: "Search failed" };
  ui.runTitle.textContent = titles[run.status] || run.status;
  if (run.status === "done") ui.progress.value = 1;
  ui.status.textContent = run.status === "infeasible"
    ? "None of the designs we tried meets every requirement: see what to change below."
    : run.message || (end && end.message) || "";
  renderResults(run);
}

function renderResults(run) {
  ui.results.hidden = false;
  ui.placeholder.hidden = true;
  ui.infeasible.hidden = true;
  ui.resultsMain.hidden = false;
  ui.detail.hidden = true;
  ui.orderForm.hidden = true;
  if (run.status === "failed") {
    ui.resultsMain.hidden = true;
    ui.infeasible.hidden = false;
    ui.infeasible.replaceChildren(el("h3", {}, "The search could not run"), el("p", {}, run.message || "Unknown error"));
    return;
  }
  if (run.status === "infeasible" || !run.designs.length) {
    ui.resultsMain.hidden = true;
    renderInfeasible(run);
    return;
  }
  const objectives = run.objectives;
  $("chart-title").textContent = objectives.length >= 2 && run.pareto
    ? `${run.designs.length} best trade-offs` : `${run.designs.length} best designs`;
  current.chart = renderChart(ui.chart, run.designs, objectives, { onSelect: selectDesign });
  renderTable(run.designs, objectives);
  selectDesign(run.designs[0].design_id);
}

function renderInfeasible(run) {
  ui.infeasible.hidden = false;
  const report = run.infeasibility;
  const parts = [el("h3", {}, "No design meets all your requirements")];
  if (run.status === "cancelled") parts[0].textContent = "The search was cancelled before it found a design that fits";
  if (report && report.evaluations === 0) {
    // nothing could be searched: the farm prints none of this product's materials
    parts[0].textContent = "We cannot make this product right now";
    parts.push(el("p", { id: "farm-infeasible" }, report.summary));
  } else if (report) {
    if (report.requirement_changes && report.requirement_changes.length) {
      parts.push(el("p", {}, "Any one of these changes would make it possible:"));
      parts.push(el("ul", { id: "relax-suggestions" }, report.requirement_changes.slice(0, 5).map((c) => el("li", {}, sentenceForChange(c)))));
    }
    if (report.violations && report.violations.length) {
      parts.push(el("p", {}, "What does not fit in the closest design we found:"));
      parts.push(el("ul", {}, report.violations.slice(0, 5).map((v) =>
        el("li", {}, `${v.message}${v.violation ? ` (short by ${fmt(v.violation, v.unit || "")})` : ""}`))));
    }
  } else if (run.message) parts.push(el("p", {}, run.message));
  parts.push(el("p", {}, el("a", { href: "#config-title" }, "Change your requirements")));
  ui.infeasible.replaceChildren(...parts);
}

function sentenceForChange(c) {
  const spec = catalog.requirements.find((r) => r.name === c.name);
  const label = c.label || (spec && spec.label) || humanize(c.name);
  const unit = c.unit || (spec && spec.unit) || "";
  if (c.direction === "increase") return `Raise ${label.toLowerCase()} to at least ${fmt(c.suggested, unit)} (now ${fmt(c.current, unit)}).`;
  if (c.direction === "decrease") return `Lower ${label.toLowerCase()} to at most ${fmt(c.suggested, unit)} (now ${fmt(c.current, unit)}).`;
  return `Change ${label.toLowerCase()} to ${fmt(c.suggested, unit)} (now ${fmt(c.current, unit)}).`;
}

function renderTable(designs, objectives) {
  const head = el("tr", {}, el("th", { scope: "col" }, "#"), objectives.map((o) =>
    el("th", { scope: "col", class: "num" }, `${o.label || humanize(o.name)}${o.unit ? ` (${o.unit})` : ""}`)),
  el("th", { scope: "col" }, "Material"), el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Select")));
  const rows = designs.map((d, i) => el("tr", { class: "selectable", "data-design-id": d.design_id, onclick: () => selectDesign(d.design_id) },
    el("td", {}, String(i + 1)),
    objectives.map((o) => el("td", { class: "num" }, fmt(d.objectives[o.name]?.value))),
    el("td", {}, d.material || "—"),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": `Show design ${i + 1}`, onclick: (e) => { e.stopPropagation(); selectDesign(d.design_id); } }, "Show"))));
  ui.table.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

async function ensureViewer() {
  if (!current.viewerPromise) {
    current.viewerPromise = import("./viewer.js")
      .then((m) => m.createViewer($("viewer"), { status: $("viewer-status") }))
      .catch(() => { $("viewer-status").textContent = "3D preview unavailable (three.js is not installed on this server: run npm ci)"; return null; });
  }
  return current.viewerPromise;
}

async function selectDesign(designId) {
  current.selected = designId;
  if (current.chart) current.chart.select(designId);
  ui.table.querySelectorAll("tr[data-design-id]").forEach((tr) => {
    const on = tr.dataset.designId === designId;
    tr.classList.toggle("selected", on);
    tr.setAttribute("aria-selected", on ? "true" : "false");
  });
  for (const [fmtName, id] of [["stl", "download-stl"], ["3mf", "download-3mf"]]) {
    const a = $(id);
    a.href = `/api/v1/designs/${designId}.${fmtName}`;
    a.setAttribute("download", `${catalog.id}-${designId.slice(0, 12)}.${fmtName}`);
    a.removeAttribute("aria-disabled");
  }
  ensureViewer().then((viewer) => {
    if (viewer && current.selected === designId) viewer.load(`/api/v1/designs/${designId}.stl`).catch(() => {});
  });
  ui.detail.hidden = false;
  $("detail-title").textContent = "Selected design";
  $("estimate").replaceChildren(el("div", {}, el("dt", {}, "Estimate"), el("dd", {}, "calculating…")));
  let detail;
  try { detail = await api(`/api/v1/designs/${designId}`); }
  catch (err) { detail = err; }
  if (current.selected !== designId) return;
  if (detail instanceof Error) $("estimate").replaceChildren(el("div", {}, el("dt", {}, "Details"), el("dd", {}, detail.message)));
  else renderDetail(detail);
}

function renderDetail(d) {
  ui.detail.hidden = false;
  const index = current.run ? current.run.designs.findIndex((x) => x.design_id === d.design_id) : -1;
  $("detail-title").textContent = `Design ${index + 1} · ${d.material}`;
  const est = d.estimate || {};
  const estItems = est.error ? [el("div", {}, el("dt", {}, "Estimate unavailable"), el("dd", { class: "small" }, est.error))] : [
    el("div", {}, el("dt", {}, "Print time"), el("dd", { id: "estimate-time" }, fmtDuration(est.print_time_s))),
    el("div", {}, el("dt", {}, "Material"), el("dd", { id: "estimate-material" }, fmt(est.material_g, "g"))),
    el("div", {}, el("dt", {}, "Price"), el("dd", { id: "estimate-price" }, est.price !== undefined ? `${est.currency || ""} ${Number(est.price).toFixed(2)}`.trim() : "—")),
  ];
  $("estimate").replaceChildren(...estItems);
  const paramRows = Object.entries(d.parameters || {}).map(([name, p]) => {
    const spec = catalog.parameters.find((s) => s.name === name);
    return el("tr", {}, el("th", { scope: "row" }, (spec && spec.label) || humanize(name)), el("td", { class: "num" }, fmt(p.value, p.unit || "")));
  });
  $("param-table").replaceChildren(el("tbody", {}, paramRows));
  const objRows = Object.entries(d.objectives || {}).map(([name, o]) => {
    const spec = catalog.objectives.find((s) => s.name === name);
    return el("tr", {}, el("th", { scope: "row" }, (spec && spec.label) || humanize(name)), el("td", { class: "num" }, fmt(o.value, o.unit || "")));
  });
  $("objective-table").replaceChildren(el("tbody", {}, objRows));
  const conRows = Object.entries(d.constraints || {}).map(([name, c]) => el("tr", {},
    el("th", { scope: "row", title: c.satisfied ? "" : c.message || "" }, humanize(name)),
    el("td", { class: `num ${c.satisfied ? "margin-ok" : "margin-bad"}` }, `${c.satisfied ? "✓" : "✗"} ${fmt(c.margin, c.unit || "")}`)));
  $("constraint-table").replaceChildren(el("tbody", {}, conRows));

  const select = $("order-material");
  select.replaceChildren(...catalog.materials.map((m) => el("option", {
    value: m.name, disabled: m.available === false, title: m.available === false ? m.unavailable_reason : null,
  }, m.available === false ? `${m.name} — not available` : m.name)));
  select.value = d.material;
  ui.orderForm.hidden = false;
  refreshQuote();
}

// -- quote: price and ready-by of the chosen material and quantity, before ordering --------
function quoteItem(id, term, value, extra = {}) {
  return el("div", {}, el("dt", {}, term), el("dd", { id, ...extra }, value));
}

async function refreshQuote() {
  const box = $("quote"), place = $("place-order");
  const designId = current.selected, material = $("order-material").value;
  const qty = Number($("order-quantity").value);
  if (!designId || !Number.isInteger(qty) || qty < 1 || qty > Number($("order-quantity").max)) {
    box.replaceChildren();
    return;
  }
  const seq = ++current.quoteSeq;
  box.dataset.state = "loading";
  box.replaceChildren(quoteItem("quote-status", "Quote", "calculating…"));
  let q;
  try {
    q = await api(`/api/v1/designs/${designId}/quote?material=${encodeURIComponent(material)}&quantity=${qty}`);
  } catch (err) {
    if (seq !== current.quoteSeq) return;
    box.dataset.state = err.status === 409 ? "unmakeable" : "error";
    box.replaceChildren(quoteItem("quote-status", err.status === 409 ? "We cannot make this" : "No quote", err.message));
    place.disabled = err.status === 409;
    return;
  }
  if (seq !== current.quoteSeq) return;
  place.disabled = false;
  box.dataset.state = "ok";
  const printers = [...new Set(q.printers.filter(Boolean))];
  const demo = q.time_scale > 1 ? ` (demo time, printers ${fmt(q.time_scale)}× faster)` : "";
  box.replaceChildren(
    quoteItem("quote-price", "Price", q.price_total === null ? "—"
      : `${q.currency} ${q.price_total.toFixed(2)}${q.quantity > 1 ? ` (${q.price_each.toFixed(2)} each)` : ""}`),
    q.ready_by
      ? quoteItem("quote-ready", "Ready by", `${fmtTime(q.ready_by)} · in ${fmtDuration(q.ready_in_s)}${demo}`,
        { "data-ready-by": q.ready_by, "data-quoted-at": q.quoted_at })
      : quoteItem("quote-ready", "Ready by", `not yet known: ${q.waiting_reason}`, { "data-waiting": "true" }),
    quoteItem("quote-printer", printers.length > 1 ? "Printers" : "Printer", printers.join(", ") || "—"),
    quoteItem("quote-time", "Print time", `${fmtDuration(q.print_seconds)} per piece on our reference printer`),
  );
}

$("order-material").addEventListener("change", refreshQuote);
$("order-quantity").addEventListener("change", refreshQuote);

ui.orderForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const errorBox = $("order-error");
  errorBox.hidden = true;
  for (const id of ["order-material", "order-quantity", "order-priority"]) {
    $(`${id}-error`).textContent = "";
    $(id).removeAttribute("aria-invalid");
  }
  const qty = Number($("order-quantity").value);
  const max = Number($("order-quantity").max);
  if (!Number.isInteger(qty) || qty < 1 || qty > max) {
    $("order-quantity-error").textContent = `Enter a whole number from 1 to ${max}`;
    $("order-quantity").setAttribute("aria-invalid", "true");
    $("order-quantity").focus();
    return;
  }
  $("place-order").disabled = true;
  try {
    const order = await api("/api/v1/orders", { method: "POST", body: {
      design_id: current.selected, material: $("order-material").value, quantity: qty, priority: $("order-priority").value,
    } });
    window.location.href = order.url;
  } catch (err) {
    $("place-order").disabled = false;
    let placed = false;
    for (const [key, reason] of Object.entries(err.fields || {})) {
      const slot = $(`order-${key}-error`);
      if (slot) { slot.textContent = reason; $(`order-${key}`).setAttribute("aria-invalid", "true"); placed = true; }
    }
    if (!placed) { errorBox.hidden = false; errorBox.textContent = err.message; }
  }
});

// resume a run from the URL (?run=<id>) after a reload or when sharing the link
const resume = new URL(window.location.href).searchParams.get("run");
if (resume) {
  api(`/api/v1/runs/${resume}`).then((run) => {
    if (run.finished) { current.runId = resume; ui.runPanel.hidden = false; finish(resume, run); }
    else startWatching(resume);
  }).catch(() => {});
}
