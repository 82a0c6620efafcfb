// Order page: shows each job's state, node, queue position and estimated finish, polling
// GET /api/v1/orders/{token} every 2 s until every piece is done (or needs attention).
import { api, el, fmtTime } from "./api.js";

const initial = JSON.parse(document.getElementById("order-data").textContent);
const STATE_WORDS = {
  queued: "Waiting for a printer", assigned: "In a printer's queue", printing: "Printing",
  done: "Done", failed: "Failed — we are on it", cancelled: "Cancelled",
};

function render(order) {
  const stateEl = document.getElementById("order-state");
  stateEl.textContent = order.state;
  stateEl.dataset.state = order.state;
  document.getElementById("order-finish").textContent = order.state === "done" ? "Ready" : fmtTime(order.est_finish);
  const body = document.querySelector("#jobs-table tbody");
  body.replaceChildren(...order.jobs.map((j) => el("tr", { "data-job-id": j.job_id, "data-state": j.state },
    el("td", {}, `${j.piece} of ${order.quantity}`),
    el("td", {}, el("span", { class: `badge state-${j.state}` }, STATE_WORDS[j.state] || j.state), j.late ? el("span", { class: "badge badge-danger" }, " late") : null),
    el("td", { class: "node" }, j.node_name || j.node_id || "—"),
    el("td", { class: "num" }, j.queue_position === null || j.queue_position === undefined ? "—" : j.queue_position === 0 ? (j.state === "printing" ? "now" : "next") : String(j.queue_position)),
    el("td", {}, j.state === "done" ? "—" : fmtTime(j.est_finish)))));
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
