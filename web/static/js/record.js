// Operator job record page: GET /api/v1/farm/jobs/{id}/record with the admin key the
// dashboard keeps for this tab (sessionStorage), shown as indented JSON (printable).
import { api } from "./api.js";

const KEY = "configurator.adminKey";
const root = document.getElementById("record");
const status = document.getElementById("record-status");
const body = document.getElementById("record-body");

async function load() {
  const key = sessionStorage.getItem(KEY);
  if (!key) { status.textContent = "Enter the admin key on the dashboard first, then reopen this page."; return; }
  try {
    const record = await api(`/api/v1/farm/jobs/${root.dataset.jobId}/record`, { headers: { Authorization: `Bearer ${key}` } });
    body.textContent = JSON.stringify(record, null, 2);
    body.hidden = false;
    status.hidden = true;
  } catch (err) {
    status.textContent = `Cannot load the record: ${err.message || err}`;
  }
}
load();
