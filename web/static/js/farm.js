// Operator dashboard: GET /api/v1/farm/status (admin key as a Bearer token) every 2 s;
// nodes with state and load, job counts, a load-over-time chart, recent events; actions:
// drain a node, mark a node's plate cleared (the operator took the finished build off),
// requeue a failed job.
import { api, ApiError, el, fmt, fmtTime, humanize } from "./api.js";

const KEY = "configurator.adminKey";
const $ = (id) => document.getElementById(id);
const history = []; // [{t, loads: {nodeId: hours}}]
const names = {};
let timer = null;

// a job's production record (printable; the page reads the key kept for this tab)
function recordLink(id) { return el("a", { href: `/farm/jobs/${id}/record`, title: "Production record" }, `#${id}`); }

function auth() { return { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` }; }

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("admin-key").value.trim());
  refresh();
});

async function action(path, label) {
  try {
    await api(path, { method: "POST", headers: auth() });
    $("farm-updated").textContent = `${label}: done`;
  } catch (err) {
    $("farm-updated").textContent = `${label}: ${err.message}`;
  }
  refresh();
}

function plateText(node, now) {
  if (node.plate_clear_at === null) return "Plate: finished build waiting for an operator";
  const at = new Date(node.plate_clear_at);
  if (at > now) return `Plate: clears itself at ${fmtTime(node.plate_clear_at)}`;
  return `Plate: clear${node.auto_clear ? " (auto-clear)" : ""}`;
}

function renderNodes(status) {
  const now = new Date(status.now);
  const maxLoad = Math.max(1, ...status.nodes.map((n) => n.load_s));
  $("nodes").replaceChildren(...status.nodes.map(({ node, load_s, queue }) => {
    names[node.id] = node.name;
    return el("li", { class: "card node", "data-node-id": node.id },
      el("h3", {}, node.name, el("span", { class: `badge state-${node.state}` }, node.state)),
      el("p", { class: "meta" }, `${node.technology} · speed ×${fmt(node.speed)}${node.time_scale > 1 ? ` (demo: ${fmt(node.time_scale)}× real time)` : ""} · ${Object.keys(node.materials || {}).join(", ") || "no materials"}`),
      el("div", { class: "loadbar", role: "img", "aria-label": `Load ${fmt(load_s / 3600)} hours` }, el("span", { style: `width:${(100 * load_s) / maxLoad}%` })),
      el("p", {}, `Load ${fmt(load_s / 3600)} h · ${queue.length} job${queue.length === 1 ? "" : "s"} in queue`),
      queue.length ? el("p", { class: "meta" }, `Queue: ${queue.map((j) => `#${j}`).join(" → ")}`) : null,
      node.state_reason ? el("p", { class: "meta state-reason" }, `Offline: ${node.state_reason}`) : null,
      el("p", { class: "meta plate", "data-plate": node.plate_clear_at === null ? "waiting" : "clear" }, plateText(node, now)),
      el("div", { class: "button-row" },
        el("button", { type: "button", class: node.plate_clear_at === null ? "" : "secondary",
          disabled: node.plate_clear_at !== null && new Date(node.plate_clear_at) <= now,
          onclick: () => action(`/api/v1/farm/nodes/${node.id}/plate-cleared`, `Plate of ${node.name} cleared`) }, "Plate cleared"),
        el("button", { type: "button", class: "secondary", disabled: node.state === "draining" || node.state === "offline",
          onclick: () => action(`/api/v1/farm/nodes/${node.id}/drain`, `Drain ${node.name}`) }, "Drain")));
  }));
}

function renderCounts(status) {
  $("job-counts").replaceChildren(...Object.entries(status.jobs).map(([state, n]) =>
    el("div", {}, el("dt", {}, humanize(state)), el("dd", { "data-state": state }, String(n)))));
}

function renderEvents(status) {
  $("events").replaceChildren(...status.events.map((ev) => el("li", {},
    el("span", { class: "muted" }, fmtTime(ev.at)), " ",
    el("strong", {}, ev.kind), ev.job_id ? " job " : "", ev.job_id ? recordLink(ev.job_id) : "", ev.node_id ? ` on ${names[ev.node_id] || ev.node_id}` : "",
    ev.reason ? ` — ${ev.reason}` : "")));
}

async function renderWaiting() {
  const jobs = await api("/api/v1/farm/jobs?state=queued&limit=50", { headers: auth() });
  const head = el("thead", {}, el("tr", {}, ["Job", "Design", "Material", "Why it waits"].map((h) => el("th", { scope: "col" }, h))));
  const rows = jobs.length ? jobs.map((j) => el("tr", { "data-job-id": j.id },
    el("td", {}, recordLink(j.id)), el("td", {}, j.label || j.design_id.slice(0, 12)), el("td", {}, `${j.material} · ${j.technology}`),
    el("td", { class: "waiting-reason" }, j.last_reason || "—")))
    : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No job is waiting."))];
  $("waiting-jobs").replaceChildren(head, el("tbody", {}, rows));
}

async function renderPrinting() {
  const jobs = await api("/api/v1/farm/jobs?state=printing&limit=50", { headers: auth() });
  const head = el("thead", {}, el("tr", {}, ["Job", "Design", "Printer", "Progress", ""].map((h) => el("th", { scope: "col" }, h))));
  const button = (j, verb, label) => el("button", { type: "button", class: "secondary",
    onclick: () => action(`/api/v1/farm/jobs/${j.id}/${verb}`, `${label} #${j.id}`) }, label);
  const rows = jobs.length ? jobs.map((j) => el("tr", { "data-job-id": j.id },
    el("td", {}, recordLink(j.id)), el("td", {}, j.label || j.design_id.slice(0, 12)),
    el("td", {}, names[j.node_id] || j.node_id || "—"),
    el("td", {}, `${j.progress_pct === null ? "starting" : `${fmt(j.progress_pct)} %`}${j.command ? ` (${j.command} requested)` : ""}`),
    el("td", { class: "button-row" }, button(j, "pause", "Pause"), button(j, "resume", "Resume"), button(j, "cancel", "Cancel"))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "Nothing is printing."))];
  $("printing-jobs").replaceChildren(head, el("tbody", {}, rows));
}

async function renderFailed() {
  const jobs = await api("/api/v1/farm/jobs?state=failed&limit=50", { headers: auth() });
  const head = el("thead", {}, el("tr", {}, ["Job", "Design", "Material", "Reason", ""].map((h) => el("th", { scope: "col" }, h))));
  const rows = jobs.length ? jobs.map((j) => el("tr", {},
    el("td", {}, recordLink(j.id)), el("td", {}, j.label || j.design_id.slice(0, 12)), el("td", {}, j.material),
    el("td", {}, j.last_reason || "—"),
    el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => action(`/api/v1/farm/jobs/${j.id}/requeue`, `Requeue #${j.id}`) }, "Requeue"))))
    : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No failed jobs."))];
  $("failed-jobs").replaceChildren(head, el("tbody", {}, rows));
}

const NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}
const COLORS = ["#2a6fdb", "#e0662b", "#1d9a5b", "#9b4dca", "#c9a227", "#d6336c", "#0b8a8a", "#6c757d"];

// Round axis ticks: a step of 1, 2, 2.5 or 5 x 10^k giving about `count` intervals, and an
// axis top that is a whole number of steps.
export function niceTicks(max, count = 4) {
  const raw = Math.max(max, 1e-9) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw - 1e-12) * power;
  const top = Math.ceil(max / step - 1e-9) * step || step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { step, top: ticks[ticks.length - 1], ticks };
}

function renderLoadChart() {
  const W = 1000, H = 260, M = { l: 48, r: 12, t: 10, b: 28 };
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "Load per printer over time, hours" });
  const ids = [...new Set(history.flatMap((h) => Object.keys(h.loads)))];
  const t0 = history.length ? history[0].t : 0, t1 = history.length ? history[history.length - 1].t : 1;
  const axis = niceTicks(Math.max(0.1, ...history.flatMap((h) => Object.values(h.loads))));
  const maxH = axis.top;
  const x = (t) => M.l + ((t - t0) / Math.max(t1 - t0, 1)) * (W - M.l - M.r);
  const y = (v) => H - M.b - (v / maxH) * (H - M.t - M.b);
  for (const v of axis.ticks) {
    root.append(svg("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), stroke: "currentColor", "stroke-opacity": 0.12 }));
    root.append(svg("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick", "data-value": v }, String(v)));
  }
  root.append(svg("text", { x: M.l, y: H - 8 }, history.length ? fmtTime(t0 / 1000) : ""));
  root.append(svg("text", { x: W - M.r, y: H - 8, "text-anchor": "end" }, history.length ? fmtTime(t1 / 1000) : ""));
  ids.forEach((id, k) => {
    const pts = history.filter((h) => id in h.loads).map((h) => `${x(h.t)},${y(h.loads[id])}`).join(" ");
    root.append(svg("polyline", { points: pts, fill: "none", stroke: COLORS[k % COLORS.length], "stroke-width": 2.5 }));
    root.append(svg("text", { x: W - M.r - 4, y: M.t + 14 + 14 * k, "text-anchor": "end", fill: COLORS[k % COLORS.length], "font-weight": 600 }, names[id] || id));
  });
  $("load-chart").replaceChildren(root);
}

async function refresh() {
  clearTimeout(timer);
  if (!sessionStorage.getItem(KEY)) return;
  try {
    const status = await api("/api/v1/farm/status?events=40", { headers: auth() });
    $("admin-key-error").textContent = "";
    $("key-form").hidden = true;
    $("dashboard").hidden = false;
    history.push({ t: Date.now(), loads: Object.fromEntries(status.nodes.map((n) => [n.node.id, n.load_s / 3600])) });
    if (history.length > 900) history.shift();
    renderCounts(status);
    renderNodes(status);
    renderEvents(status);
    renderLoadChart();
    await renderPrinting();
    await renderWaiting();
    await renderFailed();
    $("farm-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      sessionStorage.removeItem(KEY);
      $("key-form").hidden = false;
      $("dashboard").hidden = true;
      $("admin-key-error").textContent = "That key was not accepted.";
      $("admin-key").setAttribute("aria-invalid", "true");
      return;
    }
    $("farm-updated").textContent = `Could not refresh: ${err.message}`;
  }
  timer = setTimeout(refresh, 2000);
}

refresh();
