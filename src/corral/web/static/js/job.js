// One job: every field, result or error with its traceback, the audit trail; live.

import * as api from "./api.js";
import {jobButtons} from "./actions.js";
import {ageCell, duration, h, json, progressBar, statusBadge, time, toast} from "./dom.js";
import {throttle} from "./live.js";

const RENDER_MS = 200;
const REFETCH_MS = 1000;
const enc = encodeURIComponent;

function field(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function fields(job) {
  const rows = [
    field("task", job.task),
    field("status", statusBadge(job.status, job.display_status)),
    field("phase", job.phase || "—"),
    field("progress", progressBar(job.progress, job.status)),
    field("queue", h("a", {href: `#/jobs?queue=${enc(job.queue)}`}, job.queue),
      ` · priority ${job.priority}`),
    field("attempt", `${job.attempt} of ${job.max_attempts}`),
    field("worker", job.worker_id || "—"),
    field("created", time(job.created_at), " (", ageCell(job.created_at), " ago)"),
  ];
  if (job.run_at) rows.push(field("run at", time(job.run_at)));
  if (job.started_at) rows.push(field("started", time(job.started_at)));
  if (job.finished_at) {
    const took = job.started_at
      ? ` (ran ${duration((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000)})` : "";
    rows.push(field("finished", time(job.finished_at), took));
  }
  if (job.heartbeat_at) rows.push(field("heartbeat", ageCell(job.heartbeat_at), " ago"));
  if (job.timeout) rows.push(field("timeout", duration(job.timeout)));
  if (job.batch_id) {
    rows.push(field("batch", h("a", {href: `#/jobs?batch_id=${enc(job.batch_id)}`, class: "mono"},
      job.batch_id)));
  }
  for (const key of ["limit_key", "unique_key"]) {
    if (job[key]) rows.push(field(key.replace("_", " "), job[key]));
  }
  if (job.cancel_requested_at) {
    rows.push(field("cancel", `requested ${time(job.cancel_requested_at)}`,
      job.cancelled_by ? ` by ${job.cancelled_by}` : "",
      job.cancel_reason ? ` — ${job.cancel_reason}` : ""));
  }
  if (job.stalled_at) rows.push(field("stalled", `since ${time(job.stalled_at)}`));
  if (job.unresponsive_at) rows.push(field("unresponsive", `since ${time(job.unresponsive_at)}`));
  rows.push(field("args", json(job.args)), field("kwargs", json(job.kwargs)));
  if (Object.keys(job.meta || {}).length) rows.push(field("meta", json(job.meta)));
  return h("dl", {class: "fields"}, rows);
}

function outcome(job) {
  const parts = [];
  if (job.error) {
    parts.push(h("section", {class: "error"}, h("h2", {}, "Error"),
      h("p", {}, h("strong", {}, job.error.type), ": ", job.error.message),
      job.error.traceback ? h("pre", {class: "traceback"}, job.error.traceback) : null));
  }
  if (job.result !== null && job.result !== undefined) {
    parts.push(h("section", {class: "result"},
      h("h2", {}, job.status === "completed" ? "Result" : "Saved result"), json(job.result)));
  }
  return parts;
}

function trail(events) {
  return h("table", {class: "trail"},
    h("thead", {}, h("tr", {}, ["at", "event", "move", "actor", "reason", "data"]
      .map((name) => h("th", {}, name)))),
    h("tbody", {}, events.map((event) => h("tr", {dataset: {kind: event.kind}},
      h("td", {title: event.at}, time(event.at)),
      h("td", {}, event.kind),
      h("td", {}, event.from_status || event.to_status
        ? `${event.from_status || "∅"} → ${event.to_status || ""}` : ""),
      h("td", {}, event.actor || ""),
      h("td", {}, event.reason || ""),
      h("td", {class: "mono small-text"},
        Object.keys(event.data || {}).length ? JSON.stringify(event.data) : "")))));
}

export function jobPage(view, params, jobId) {
  let job = null;
  let events = [];
  let gone = false;
  const head = h("div", {class: "job-head"});
  const title = h("h1");
  const buttons = h("div");
  let buttonsFor = null; // the status the buttons were made for
  const body = h("div", {class: "job-body"});
  const trailBox = h("section", {class: "trail-box"});

  const render = () => {
    if (gone) {
      buttonsFor = null;
      head.replaceChildren(h("h1", {}, "Job ", h("span", {class: "mono"}, jobId)),
        h("p", {class: "muted"}, "This job was deleted."));
      body.replaceChildren();
      trailBox.replaceChildren();
      return;
    }
    if (!job) return;
    title.replaceChildren("Job ", h("span", {class: "mono"}, job.id), " ",
      statusBadge(job.status, job.display_status));
    if (buttonsFor !== job.status) { // kept across progress ticks: clicks must not be lost
      buttonsFor = job.status;
      buttons.replaceChildren(jobButtons(job, (updated) => {
        if (updated && updated.id) { job = updated; render(); }
        loadTrail();
      }));
    }
    if (!head.contains(title)) head.replaceChildren(title, buttons);
    body.replaceChildren(fields(job), ...outcome(job));
    trailBox.replaceChildren(h("h2", {}, "Audit trail"), trail(events));
  };
  const scheduleRender = throttle(render, RENDER_MS);

  async function loadTrail() {
    try {
      events = await api.get(`/jobs/${enc(jobId)}/events`);
      scheduleRender();
    } catch { /* shown by load() */ }
  }

  async function load() {
    try {
      job = await api.get(`/jobs/${enc(jobId)}`);
      await loadTrail();
      scheduleRender();
    } catch (error) {
      if (error.status === 404) gone = true;
      else toast(error.message, "error");
      render();
    }
  }
  const scheduleLoad = throttle(load, REFETCH_MS);
  const scheduleTrail = throttle(loadTrail, REFETCH_MS);

  view.replaceChildren(h("p", {}, h("a", {href: "#/jobs"}, "← jobs")), head, body, trailBox);
  load();

  return {
    onLive(kind, data) {
      if (kind === "job_update" && data && data.id === jobId) {
        const moved = !job || job.status !== data.status || job.attempt !== data.attempt;
        job = data;
        gone = false;
        scheduleRender();
        if (moved) scheduleTrail();
      } else if (kind === "job_deleted" && data && data.id === jobId) {
        gone = true;
        render();
      } else if (kind === "resync" || kind === "poll") {
        scheduleLoad();
      }
    },
    unmount() {
      scheduleRender.cancel();
      scheduleLoad.cancel();
      scheduleTrail.cancel();
    },
  };
}
