// The product form, generated from the catalog JSON (GET /api/v1/catalogs/{id}).
// Validation here uses the same bounds as the server; the server's 422 field errors are
// shown beside the same inputs (see showServerErrors).
import { el, fmt, humanize } from "./api.js";

/** Field id for a request key: "requirements.board_length" -> "req-board_length". */
export function fieldId(key) {
  const [section, ...rest] = String(key).split(".");
  const name = rest.join(".");
  if (section === "requirements" && name) return `req-${name}`;
  if (section === "locks" && name) return `lock-${name}`;
  if (["evals", "seed", "algorithm", "top"].includes(section)) return `search-${section}`;
  if (section === "weights") return "objectives";
  return section;
}

/**
 * Check one raw input value against its spec ({type, min, max, options, unit}).
 * Returns a readable reason or "" when valid. Mirrors the server's checks.
 */
export function validateValue(spec, raw) {
  const unit = spec.unit ? ` ${spec.unit}` : "";
  const g = (v) => String(Number(Number(v).toPrecision(6)));
  if (spec.type === "bool") return "";
  if (spec.type === "choice") {
    const options = (spec.options || []).map(String);
    return options.includes(String(raw)) ? "" : `Must be one of ${options.join(", ")}`;
  }
  const text = String(raw ?? "").trim();
  if (text === "") return "Required";
  const value = Number(text);
  if (!Number.isFinite(value)) return `Must be a number (got '${text}')`;
  if (spec.type === "int" && !Number.isInteger(value)) return `Must be a whole number (got ${g(value)})`;
  const lo = spec.min ?? -Infinity, hi = spec.max ?? Infinity;
  if (value < lo || value > hi) return `Must be between ${g(lo)} and ${g(hi)}${unit} (got ${g(value)})`;
  return "";
}

/** Parse a valid raw value to the JSON value the API expects. */
export function parseValue(spec, raw) {
  if (spec.type === "bool") return Boolean(raw);
  if (spec.type === "choice") return raw;
  const value = Number(String(raw).trim());
  return spec.type === "int" ? Math.round(value) : value;
}

function inputFor(spec, id, value, describedBy) {
  const common = { id, name: id, "aria-describedby": describedBy, "data-field": spec.name };
  if (spec.type === "choice") {
    const select = el("select", common, (spec.options || []).map((o) => el("option", { value: String(o) }, String(o))));
    select.value = String(value ?? (spec.options || [])[0]);
    return select;
  }
  if (spec.type === "bool") {
    const box = el("input", { ...common, type: "checkbox" });
    box.checked = Boolean(value);
    return box;
  }
  const step = spec.type === "int" ? 1 : spec.step || "any";
  return el("input", {
    ...common, type: "number", inputmode: spec.type === "int" ? "numeric" : "decimal",
    min: spec.min ?? null, max: spec.max ?? null, step, value: value ?? "", required: true,
  });
}

/** One labelled field (label + unit, input, help, bounds, error slot). */
export function buildField(spec, { id, value } = {}) {
  const helpId = `${id}-help`, errId = `${id}-error`;
  const label = spec.label || humanize(spec.name);
  const input = inputFor(spec, id, value ?? spec.default, `${helpId} ${errId}`);
  const bounds = spec.type === "real" || spec.type === "int"
    ? `${fmt(spec.min)} – ${fmt(spec.max)}${spec.unit ? " " + spec.unit : ""}` : "";
  if (spec.type === "bool") {
    return el("div", { class: "field" },
      el("label", { class: "check", for: id }, input, label),
      el("small", { class: "help", id: helpId }, spec.help || ""),
      el("p", { class: "field-error", id: errId }));
  }
  return el("div", { class: "field" },
    el("label", { for: id }, label, spec.unit ? el("span", { class: "unit" }, ` (${spec.unit})`) : null),
    input,
    el("small", { class: "help", id: helpId }, spec.help || "", bounds ? el("span", { class: "bounds" }, `${spec.help ? " · " : ""}${bounds}`) : null),
    el("p", { class: "field-error", id: errId }));
}

/** Show (or clear with "") an error beside field `id`. */
export function setFieldError(id, message) {
  const input = document.getElementById(id);
  const slot = document.getElementById(`${id}-error`);
  if (slot) slot.textContent = message || "";
  if (input && input.matches("input, select")) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function readRaw(input) {
  return input.type === "checkbox" ? input.checked : input.value;
}

/** Build the whole form into the page's placeholders and return its controller. */
export function buildForm(catalog) {
  const reqRoot = document.getElementById("requirement-fields");
  const groups = new Map();
  for (const spec of catalog.requirements) {
    const group = spec.group || "Requirements";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(spec);
  }
  for (const [group, specs] of groups) {
    reqRoot.append(el("fieldset", {}, el("legend", {}, group),
      specs.map((s) => buildField(s, { id: `req-${s.name}` }))));
  }

  // objectives: checkbox + weight per objective; mode single (weights) or pareto
  const objRoot = document.getElementById("objective-fields");
  catalog.objectives.forEach((o, i) => {
    const id = `obj-${o.name}`;
    const sense = o.sense === "max" ? "higher is better" : "lower is better";
    objRoot.append(el("div", { class: "objective-row" },
      el("input", { type: "checkbox", id, name: "objective", value: o.name, checked: i === 0, "aria-describedby": `${id}-desc` }),
      el("label", { for: id }, o.label || humanize(o.name),
        el("span", { class: "unit", id: `${id}-desc` }, ` (${o.unit ? o.unit + ", " : ""}${sense})`)),
      el("input", { type: "number", id: `weight-${o.name}`, min: 0, max: 100, step: "any", value: 1,
        "aria-label": `Weight of ${o.label || humanize(o.name)}`, title: "Weight" }),
    ));
  });

  // materials the farm cannot print are shown, disabled, with the reason; "best for my
  // goals" searches only the available ones (the server does the same)
  const material = document.getElementById("material");
  material.append(el("option", { value: "" }, "Best for my goals"));
  const farmNotes = [];
  for (const m of catalog.materials) {
    const off = m.available === false;
    material.append(el("option", { value: m.name, disabled: off, title: off ? m.unavailable_reason : null },
      `${m.name}${m.technology ? " · " + m.technology : ""}${off ? " — not available" : ""}`));
    if (off) farmNotes.push(el("li", { class: "unavailable", "data-material": m.name }, `${m.name}: ${m.unavailable_reason}`));
    else if (m.notice) farmNotes.push(el("li", { class: "waits", "data-material": m.name }, `${m.name}: orders wait — ${m.notice}`));
  }
  document.getElementById("material-farm").replaceChildren(...farmNotes);

  const lockRoot = document.getElementById("lock-fields");
  for (const spec of catalog.parameters) {
    const id = `lock-${spec.name}`;
    const toggle = el("input", { type: "checkbox", id: `${id}-on`, "aria-label": `Lock ${spec.label || humanize(spec.name)}`, "aria-controls": id });
    const field = buildField(spec, { id });
    const input = field.querySelector(`#${CSS.escape(id)}`);
    input.disabled = true;
    toggle.addEventListener("change", () => { input.disabled = !toggle.checked; if (!toggle.checked) setFieldError(id, ""); });
    lockRoot.append(el("div", { class: "lock-row" }, toggle, field));
  }

  const search = document.getElementById("search-fields");
  const searchSpecs = [
    { name: "evals", type: "int", min: catalog.limits.min_evals, max: catalog.limits.max_evals, default: catalog.limits.default_evals, label: "Evaluations", help: "Search budget" },
    { name: "seed", type: "int", min: 0, max: 2 ** 31 - 1, default: 1, label: "Seed", help: "Same seed, same result" },
    { name: "top", type: "int", min: 1, max: catalog.limits.max_top, default: catalog.limits.default_top, label: "Designs to keep" },
    { name: "algorithm", type: "choice", options: ["auto", ...catalog.algorithms], default: "auto", label: "Algorithm" },
  ];
  for (const s of searchSpecs) search.append(buildField(s, { id: `search-${s.name}` }));

  const modeHelp = document.getElementById("mode-help");
  const weightInputs = () => catalog.objectives.map((o) => document.getElementById(`weight-${o.name}`));
  function mode() { return document.querySelector('input[name="mode"]:checked').value; }
  function syncMode() {
    const pareto = mode() === "pareto";
    for (const w of weightInputs()) w.hidden = pareto;
    modeHelp.textContent = pareto
      ? "Tick two or more goals: you get the set of best trade-offs and pick one on the chart."
      : "Tick one goal, or several with weights: we find the single design that scores best.";
    if (pareto) {
      const boxes = [...objRoot.querySelectorAll('input[name="objective"]')];
      if (boxes.filter((b) => b.checked).length < 2) boxes.slice(0, 2).forEach((b) => { b.checked = true; });
    }
  }
  document.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener("change", syncMode));
  syncMode();

  // live validation on blur / change
  const allSpecs = [
    ...catalog.requirements.map((s) => [s, `req-${s.name}`]),
    ...catalog.parameters.map((s) => [s, `lock-${s.name}`]),
    ...searchSpecs.map((s) => [s, `search-${s.name}`]),
  ];
  for (const [spec, id] of allSpecs) {
    const input = document.getElementById(id);
    const check = () => { if (!input.disabled) setFieldError(id, validateValue(spec, readRaw(input))); };
    input.addEventListener("change", check);
    input.addEventListener("blur", check);
  }

  /** Validate everything; returns {request, errors: {id: reason}}. */
  function collect() {
    const errors = {};
    const requirements = {}, locks = {};
    for (const [spec, id] of allSpecs) {
      const input = document.getElementById(id);
      if (input.disabled) continue;
      const reason = validateValue(spec, readRaw(input));
      if (reason) { errors[id] = reason; continue; }
      const value = parseValue(spec, readRaw(input));
      if (id.startsWith("req-")) requirements[spec.name] = value;
      else if (id.startsWith("lock-")) locks[spec.name] = value;
    }
    const chosen = catalog.objectives.filter((o) => document.getElementById(`obj-${o.name}`).checked).map((o) => o.name);
    const pareto = mode() === "pareto";
    let weights = null;
    if (!chosen.length) errors.objectives = "Tick at least one goal";
    else if (pareto && chosen.length < 2) errors.objectives = "Tick at least two goals to compare trade-offs";
    if (!pareto && chosen.length > 1) {
      weights = chosen.map((n) => Number(document.getElementById(`weight-${n}`).value));
      if (weights.some((w) => !Number.isFinite(w) || w < 0)) errors.objectives = "Weights must be numbers of 0 or more";
      else if (weights.every((w) => w === 0)) errors.objectives = "At least one weight must be above 0";
    }
    const algorithmRaw = document.getElementById("search-algorithm").value;
    const request = {
      catalog_id: catalog.id,
      requirements, locks,
      objectives: chosen,
      weights,
      material: material.value || null,
      algorithm: algorithmRaw === "auto" ? null : algorithmRaw,
      evals: Number(document.getElementById("search-evals").value),
      seed: Number(document.getElementById("search-seed").value),
      top: Number(document.getElementById("search-top").value),
    };
    return { request, errors };
  }

  function clearErrors() {
    document.querySelectorAll(".field-error").forEach((n) => { n.textContent = ""; });
    document.querySelectorAll('[aria-invalid="true"]').forEach((n) => n.removeAttribute("aria-invalid"));
  }

  /** Put each error beside its field; open <details> if a locked field is concerned; focus the first. */
  function showErrors(errors) {
    let first = null;
    for (const [id, reason] of Object.entries(errors)) {
      setFieldError(id, reason);
      const input = document.getElementById(id);
      if (id.startsWith("lock-") || id.startsWith("search-")) document.getElementById("advanced").open = true;
      if (!first && input) first = input;
    }
    if (first) first.focus();
    else if (errors.objectives) document.getElementById(`obj-${catalog.objectives[0].name}`).focus();
  }

  /** Map the server's field keys ("requirements.x", "locks.y", ...) onto our field ids. */
  function showServerErrors(fields) {
    const mapped = {}, unplaced = [];
    for (const [key, reason] of Object.entries(fields)) {
      const id = fieldId(key);
      if (document.getElementById(`${id}-error`)) mapped[id] = reason;
      else unplaced.push(`${key}: ${reason}`);
    }
    showErrors(mapped);
    return unplaced;
  }

  return { collect, clearErrors, showErrors, showServerErrors };
}
