// Hand-written SVG charts for the result set (no chart library):
//   1 objective  -> ranked dot plot, 2 -> scatter with the front, 3 -> scatter coloured by the
//   third, 4+ -> parallel coordinates. Every mark is focusable and selects its design.
import { fmt, humanize } from "./api.js";

const NS = "http://www.w3.org/2000/svg";
function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** "Nice" tick values covering [lo, hi] (about n ticks). */
export function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return { values: out, lo: Math.min(lo, out[0] ?? lo), hi: Math.max(hi, out[out.length - 1] ?? hi) };
}

function padRange(values) {
  let lo = Math.min(...values), hi = Math.max(...values);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

function objLabel(o) {
  const dir = o.sense === "max" ? "↑ better" : "↓ better";
  return `${o.label || humanize(o.name)}${o.unit ? ` (${o.unit})` : ""} ${dir}`;
}

function pointLabel(design, index, objectives) {
  const parts = objectives.map((o) => `${o.label || humanize(o.name)} ${fmt(design.objectives[o.name]?.value, o.unit)}`);
  return `Design ${index + 1}: ${parts.join(", ")}`;
}

function colorScale(t) { // 0..1 -> blue..amber, readable in both schemes
  const a = [42, 111, 219], b = [232, 150, 30];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Draw the chart for `designs` (records with objectives {name: {value}}) into `container`.
 * `onSelect(designId)` is called on click / Enter / Space. Returns {select(id)}.
 */
export function renderChart(container, designs, objectives, { onSelect } = {}) {
  container.replaceChildren();
  const W = 560, H = objectives.length >= 4 ? 320 : 360, M = { l: 64, r: 20, t: 16, b: 52 };
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "group", "aria-label": "Designs found; each mark selects a design" });
  container.append(svg);
  const marks = new Map();
  const val = (d, o) => d.objectives[o.name]?.value;

  function bind(node, design, index) {
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", pointLabel(design, index, objectives));
    node.dataset.designId = design.design_id;
    const fire = () => onSelect && onSelect(design.design_id);
    node.addEventListener("click", fire);
    node.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fire(); } });
    node.append(s("title", {}, pointLabel(design, index, objectives)));
    marks.set(design.design_id, node);
  }

  if (objectives.length >= 4) {
    // parallel coordinates: one vertical axis per objective, "better" at the top
    const n = objectives.length, x = (i) => M.l + (i * (W - M.l - M.r)) / (n - 1);
    const ranges = objectives.map((o) => padRange(designs.map((d) => val(d, o))));
    const y = (i, v) => {
      const [lo, hi] = ranges[i];
      let t = (v - lo) / (hi - lo || 1);
      if (objectives[i].sense !== "max") t = 1 - t;
      return H - M.b - t * (H - M.t - M.b);
    };
    objectives.forEach((o, i) => {
      svg.append(s("line", { x1: x(i), x2: x(i), y1: M.t, y2: H - M.b, stroke: "currentColor", "stroke-opacity": 0.25 }));
      const anchor = i === 0 ? "start" : i === n - 1 ? "end" : "middle";
      svg.append(s("text", { x: x(i), y: H - M.b + 18, "text-anchor": anchor }, o.label || humanize(o.name)));
      const [lo, hi] = ranges[i];
      const [top, bottom] = o.sense === "max" ? [hi, lo] : [lo, hi];
      svg.append(s("text", { x: x(i), y: M.t - 3, "text-anchor": anchor, "font-size": 10 }, fmt(top, o.unit)));
      svg.append(s("text", { x: x(i), y: H - M.b + 34, "text-anchor": anchor, "font-size": 10 }, fmt(bottom, o.unit)));
    });
    designs.forEach((d, k) => {
      const pts = objectives.map((o, i) => `${x(i)},${y(i, val(d, o))}`).join(" ");
      const line = s("polyline", { points: pts, class: "pc-line" });
      bind(line, d, k);
      svg.append(line);
    });
    return { select: (id) => marks.forEach((m, key) => m.classList.toggle("selected", key === id)) };
  }

  const ox = objectives[0];
  const oy = objectives.length >= 2 ? objectives[1] : null;
  const oc = objectives.length === 3 ? objectives[2] : null;
  const xs = designs.map((d) => val(d, ox));
  const ys = oy ? designs.map((d) => val(d, oy)) : designs.map((_, i) => i + 1);
  const tx = ticks(...padRange(xs)), ty = oy ? ticks(...padRange(ys)) : ticks(0, designs.length + 1, Math.min(designs.length + 1, 8));
  const px = (v) => M.l + ((v - tx.lo) / (tx.hi - tx.lo)) * (W - M.l - M.r);
  const py = oy ? (v) => H - M.b - ((v - ty.lo) / (ty.hi - ty.lo)) * (H - M.t - M.b)
    : (v) => M.t + ((v - ty.lo) / (ty.hi - ty.lo)) * (H - M.t - M.b);

  const grid = s("g", { class: "grid" });
  for (const v of tx.values) grid.append(s("line", { x1: px(v), x2: px(v), y1: M.t, y2: H - M.b }));
  for (const v of ty.values) grid.append(s("line", { x1: M.l, x2: W - M.r, y1: py(v), y2: py(v) }));
  svg.append(grid);
  const axis = s("g", { class: "axis" });
  axis.append(s("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  axis.append(s("line", { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  for (const v of tx.values) axis.append(s("text", { x: px(v), y: H - M.b + 16, "text-anchor": "middle" }, fmt(v)));
  for (const v of ty.values) {
    if (!oy && (!Number.isInteger(v) || v < 1 || v > designs.length)) continue;
    axis.append(s("text", { x: M.l - 8, y: py(v) + 4, "text-anchor": "end" }, fmt(v)));
  }
  axis.append(s("text", { x: (M.l + W - M.r) / 2, y: H - 10, "text-anchor": "middle", "font-weight": 600 }, objLabel(ox)));
  axis.append(s("text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle", "font-weight": 600, transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})` },
    oy ? objLabel(oy) : "Rank"));
  svg.append(axis);

  if (oy && designs.length > 1) { // the front as a line through the points, sorted by x
    const order = designs.map((d, i) => i).sort((a, b) => xs[a] - xs[b]);
    svg.append(s("polyline", { class: "front", points: order.map((i) => `${px(xs[i])},${py(ys[i])}`).join(" ") }));
  }
  let cLo = 0, cHi = 1;
  if (oc) {
    const cs = designs.map((d) => val(d, oc));
    cLo = Math.min(...cs); cHi = Math.max(...cs);
    const gx = W - M.r - 150, gy = M.t + 4;
    const grad = s("linearGradient", { id: "c3", x1: 0, x2: 1 });
    grad.append(s("stop", { offset: 0, "stop-color": colorScale(0) }), s("stop", { offset: 1, "stop-color": colorScale(1) }));
    svg.append(s("defs", {}, grad));
    svg.append(s("rect", { x: gx, y: gy, width: 150, height: 8, fill: "url(#c3)", rx: 4 }));
    svg.append(s("text", { x: gx, y: gy + 22, "font-size": 10 }, fmt(cLo)));
    svg.append(s("text", { x: gx + 150, y: gy + 22, "text-anchor": "end", "font-size": 10 }, fmt(cHi)));
    svg.append(s("text", { x: gx + 75, y: gy + 22, "text-anchor": "middle", "font-size": 10 }, `colour: ${oc.label || humanize(oc.name)}`));
  }
  designs.forEach((d, i) => {
    const g = s("g", { class: "point" });
    const circle = s("circle", { cx: px(xs[i]), cy: py(ys[i]), r: 7 });
    if (oc) circle.style.fill = colorScale((val(d, oc) - cLo) / (cHi - cLo || 1));
    g.append(circle);
    bind(g, d, i);
    svg.append(g);
  });
  return { select: (id) => marks.forEach((m, key) => m.classList.toggle("selected", key === id)) };
}
