// The dashboard shell: token dialog, stats header, live-feed indicator and a hash router
// (#/jobs, #/jobs/<id>, #/batches, #/queues, #/workers) over the page modules.

import * as api from "./api.js";
import {batchesPage} from "./batches.js";
import {STATUSES, h, tickAges, toast} from "./dom.js";
import {jobPage} from "./job.js";
import {jobsPage} from "./jobs.js";
import * as live from "./live.js";
import {queuesPage} from "./queues.js";
import {workersPage} from "./workers.js";

const STATS_MS = 1000; // the header is refetched at most this often
const STATS_IDLE_MS = 5000; // and at least this often (workers die without job events)

const view = document.getElementById("view");
let page = null; // the mounted page: {onLive, unmount}; written by route() only

function route() {
  const [path, search] = (location.hash.slice(1) || "/jobs").split("?");
  const params = new URLSearchParams(search || "");
  const parts = path.split("/").filter(Boolean);
  if (page) page.unmount();
  let section = parts[0] || "jobs";
  if (section === "jobs" && parts[1]) page = jobPage(view, params, decodeURIComponent(parts[1]));
  else if (section === "batches") page = batchesPage(view, params);
  else if (section === "queues") page = queuesPage(view, params);
  else if (section === "workers") page = workersPage(view, params);
  else { section = "jobs"; page = jobsPage(view, params); }
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.dataset.section === section);
  }
}

// -- token -------------------------------------------------------------------------------

function promptForToken(message) {
  const dialog = document.getElementById("token-dialog");
  const input = dialog.querySelector("input");
  dialog.querySelector(".message").textContent = message || "";
  input.value = "";
  dialog.returnValue = "";
  if (!dialog.open) dialog.showModal();
  return new Promise((resolve, reject) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "ok" && input.value.trim()) {
        api.setToken(input.value.trim());
        resolve();
      } else {
        reject(new Error(message || "a token is required"));
      }
    }, {once: true});
  });
}

// -- stats header ------------------------------------------------------------------------

const statsBox = document.getElementById("stats");

function stat(label, value, href, cls) {
  const body = [h("span", {class: "stat-value"}, value), h("span", {class: "stat-label"}, label)];
  return href ? h("a", {class: `stat ${cls || ""}`, href}, body)
    : h("div", {class: `stat ${cls || ""}`}, body);
}

/** Alive, cleanly stopped and dead workers apart: only a dead one is a warning. */
function workerStats(workers) {
  return [
    stat("workers alive", workers.alive ?? 0, "#/workers", "stat-alive"),
    stat("stopped", workers.stopped ?? 0, "#/workers", "stat-stopped"),
    stat("dead", workers.dead ?? 0, "#/workers", workers.dead ? "stat-dead stat-warn" : "stat-dead"),
  ];
}

async function loadStats() {
  try {
    const stats = await api.get("/stats");
    statsBox.replaceChildren(
      ...STATUSES.map((status) => stat(status, stats.counts[status] ?? 0,
        `#/jobs?status=${status}`, `stat-${status}`)),
      stat("stalled", stats.stalled, null, stats.stalled ? "stat-warn" : ""),
      stat("done / min", stats.finished_last_minute),
      ...workerStats(stats.workers || {}));
  } catch (error) {
    if (!(error instanceof api.ApiError)) statsBox.replaceChildren(stat("server", "unreachable"));
  }
}

const scheduleStats = live.throttle(loadStats, STATS_MS);

// -- start -------------------------------------------------------------------------------

// -- find a job by any id a person has: the server resolves it (full id, short id, unique
// prefix or suffix), the job page shows the job, the candidates or why not

document.getElementById("find-job").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = event.currentTarget.elements.id;
  const text = input.value.trim();
  if (!text) return;
  const hash = `#/jobs/${encodeURIComponent(text)}`;
  if (location.hash === hash) route(); // the same text again: look it up afresh
  else location.hash = hash;
});

// Inside a host app (corral.contrib.fastapi) the host's login guards the API: its refusal
// is shown as it is, and corral's token dialog is never offered.
const tokenButton = document.getElementById("token-button");
if (document.documentElement.dataset.auth === "host") tokenButton.hidden = true;
else api.setTokenPrompt(promptForToken);
tokenButton.addEventListener("click", async () => {
  try {
    await api.askForToken("Enter a token (admin, or read-only for viewing).");
    toast("token saved for this tab");
    route();
    scheduleStats();
  } catch { /* kept the old one */ }
});
const liveBadge = document.getElementById("live");
live.onState((state) => {
  liveBadge.dataset.state = state;
  liveBadge.textContent = {live: "● live", polling: "◌ polling", connecting: "◌ connecting"}[state];
  liveBadge.title = state === "live" ? "live feed connected"
    : "live feed unavailable: refreshing every 2 s";
});
live.subscribe((kind, data) => {
  if (page) page.onLive(kind, data);
  scheduleStats();
});
window.addEventListener("hashchange", route);
setInterval(() => tickAges(view), 1000);
setInterval(scheduleStats, STATS_IDLE_MS);
route();
loadStats();
live.start();
