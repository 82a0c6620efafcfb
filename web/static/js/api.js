// Small helpers shared by the pages: JSON fetch with readable errors, number formatting, DOM.

/** An API error: `status`, a readable `message` and `fields` (field name -> reason) for 422s. */
export class ApiError extends Error {
  constructor(status, message, fields = {}) {
    super(message);
    this.status = status;
    this.fields = fields;
  }
}

/** Turn FastAPI's `detail` (string, or list of {loc, msg}) into a message and per-field reasons. */
export function parseDetail(detail) {
  const fields = {};
  if (typeof detail === "string") return { message: detail, fields };
  if (Array.isArray(detail)) {
    const messages = [];
    for (const item of detail) {
      const loc = (item.loc || []).filter((p) => p !== "body" && p !== "query" && p !== "path");
      const msg = String(item.msg || "invalid value").replace(/^Value error, /, "");
      const key = loc.length ? loc.join(".") : "";
      if (key) fields[key] = msg;
      messages.push(key ? `${key}: ${msg}` : msg);
    }
    return { message: messages.join("; "), fields };
  }
  if (detail && typeof detail === "object") return { message: detail.message || JSON.stringify(detail), fields: detail.fields || {} };
  return { message: "Unexpected error", fields };
}

/** fetch() returning parsed JSON; throws ApiError with the server's reason on non-2xx. */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "The server cannot be reached. Check that it is running and try again.");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const { message, fields } = parseDetail(data && data.detail !== undefined ? data.detail : text || response.statusText);
    throw new ApiError(response.status, message, fields);
  }
  return data;
}

/** Format a number for people: up to 4 significant digits, no exponent for usual sizes. */
export function fmt(value, unit = "") {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return `${value}${unit ? " " + unit : ""}`;
  const abs = Math.abs(value);
  let text;
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) text = value.toExponential(2);
  else if (Number.isInteger(value)) text = String(value);
  else text = String(Number(value.toPrecision(4)));
  return unit ? `${text} ${unit}` : text;
}

/** Seconds -> "1 h 05 min" / "4 min 10 s". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(r).padStart(2, "0")} s`;
  return `${r} s`;
}

/** Absolute time (ISO string or epoch seconds) -> local clock time (with the date when
 * it is not today). */
export function fmtTime(value) {
  if (value === null || value === undefined) return "—";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

/** Create an element: el("td", {class: "num"}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Human label from a snake_case name. */
export function humanize(name) {
  const s = String(name).replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}
