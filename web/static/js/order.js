// Order page: shows each piece's state, printer, queue position, start and (estimated)
// finish — why it waits when it has no printer yet, and which printer made it once done —
// polling GET /api/v1/orders/{token} every 2 s until every piece is done.
import { api, el, fmtTime } from "./api.js";

const initial = JSON.parse(document.getElementById("order-data").textContent);
const STATE_WORDS = {
  queued: "Waiting for a printer", assigned: "In a printer's queue", printing: "Printing",
  done: "Done", failed: "Failed — we are on it", cancelled: "Cancelled",
};

function finishCell(j) {
  if (j.finished_at) return el("td", { class: "finished", "data-finished-at": j.finished_at }, fmtTime(j.finished_at));
  if (j.est_finish) return el("td", { class: "estimated" }, `≈ ${fmtTime(j.est_finish)}`);
  return el("td", {}, "—");
}

function render(order) {
  const stateEl = document.getElementById("order-state");
  stateEl.textContent = order.state;
  stateEl.dataset.state = order.state;
  const finish = document.getElementById("order-finish");
  const term = document.getElementById("order-finish-term");
  if (order.state === "done") {
    term.textContent = "Ready since";
    finish.textContent = fmtTime(order.finished_at);
  } else {
    term.textContent = "Ready by";
    finish.textContent = order.est_finish ? fmtTime(order.est_finish) : order.waiting_reason ? "not yet known" : "—";
  }
  finish.dataset.readyBy = order.ready_by || "";
  const waiting = document.getElementById("order-waiting");
  waiting.hidden = !order.waiting_reason;
  waiting.textContent = order.waiting_reason ? `A piece is waiting: ${order.waiting_reason}.` : "";
  const body = document.querySelector("#jobs-table tbody");
  body.replaceChildren(...order.jobs.map((j) => el("tr", { "data-job-id": j.job_id, "data-state": j.state },
    el("td", {}, `${j.piece} of ${order.quantity}`),
    el("td", {}, el("span", { class: `badge state-${j.state}` }, STATE_WORDS[j.state] || j.state),
      j.late ? el("span", { class: "badge badge-danger" }, " late") : null,
      j.waiting_reason ? el("small", { class: "waiting-reason" }, j.waiting_reason) : null),
    el("td", { class: "node" }, j.node_name || j.node_id || "—"),
    el("td", { class: "num" }, j.queue_position === null || j.queue_position === undefined ? "—" : j.queue_position === 0 ? (j.state === "printing" ? "now" : "next") : String(j.queue_position)),
    el("td", { class: "started" }, j.started_at ? fmtTime(j.started_at) : "—"),
    finishCell(j))));
  document.getElementById("order-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.orderState = order.state;
}

async function poll() {
  try {
    const order = await api(initial.links.self);
    render(order);
    if (order.state === "done") return;
  } catch (err) {
    document.getElementById("order-updated").textContent = `Could not refresh: ${err.message}`;
  }
  setTimeout(poll, 2000);
}

render(initial);
if (initial.state !== "done") setTimeout(poll, 1000);
