// One job: every field, result or error with its traceback, the audit trail; live.

import * as api from "./api.js";
import {jobButtons} from "./actions.js";
import {ageCell, duration, h, json, progressBar, shortId, statusBadge, time, toast} from "./dom.js";
import {throttle} from "./live.js";

const RENDER_MS = 200;
const REFETCH_MS = 1000;
const enc = encodeURIComponent;

/** One row of the field list: a label and its value, side by side. */
function field(label, ...value) {
  return [h("dt", {}, label), h("dd", {dataset: {field: label}}, ...value)];
}

/** The message beside the bar (the bar holds the numbers), or that there is none. */
function progressText(progress) {
  if (progress.message) return progress.message;
  return progress.total || progress.current ? "" : "no progress reported";
}

function when(iso) {
  return [time(iso), " (", ageCell(iso), " ago)"];
}

function fields(job) {
  const progress = job.progress || {current: 0, total: null, message: null, ratio: null};
  const rows = [
    field("id", h("span", {class: "mono"}, job.id)),
    field("task", job.task),
    field("status", statusBadge(job.status, job.display_status)),
    field("phase", job.phase || "—"),
    field("progress", progressBar(progress, job.status, {message: false}),
      progressText(progress) ? h("span", {class: "progress-text"}, progressText(progress)) : null),
    field("queue", h("a", {href: `#/jobs?queue=${enc(job.queue)}`}, job.queue),
      ` · priority ${job.priority}`),
    field("attempt", `${job.attempt} of ${job.max_attempts}`),
    field("worker", job.worker_id ? h("a", {href: "#/workers", class: "mono"}, job.worker_id) : "—"),
    field("created", when(job.created_at)),
  ];
  // run_at matters when it was put off (delay, cron, retry backoff), not when it equals created
  const putOff = job.run_at && Date.parse(job.run_at) - Date.parse(job.created_at) > 1000;
  if (job.run_at && (job.status === "scheduled" || putOff)) rows.push(field("run at", time(job.run_at)));
  if (job.started_at) rows.push(field("started", when(job.started_at)));
  if (job.finished_at) {
    const took = job.started_at
      ? ` · ran ${duration((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000)}` : "";
    rows.push(field("finished", when(job.finished_at), took));
  }
  if (job.heartbeat_at && !job.finished_at) rows.push(field("heartbeat", ageCell(job.heartbeat_at), " ago"));
  if (job.timeout) rows.push(field("timeout", duration(job.timeout)));
  if (job.batch_id) {
    rows.push(field("batch", h("a", {href: `#/jobs?batch_id=${enc(job.batch_id)}`, class: "mono",
      title: job.batch_id}, shortId(job.batch_id))));
  }
  for (const key of ["limit_key", "unique_key"]) {
    if (job[key]) rows.push(field(key.replace("_", " "), job[key]));
  }
  if (job.cancel_requested_at || job.cancelled_by || job.cancel_reason) {
    if (job.cancel_requested_at) rows.push(field("cancel requested", when(job.cancel_requested_at)));
    rows.push(field("cancelled by", job.cancelled_by || "—"));
    rows.push(field("cancel reason", job.cancel_reason || "none given"));
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
      h("td", {class: "at", title: event.at}, time(event.at)),
      h("td", {class: "kind"}, event.kind),
      h("td", {class: "move"}, event.from_status || event.to_status
        ? `${event.from_status || "∅"} → ${event.to_status || ""}` : ""),
      h("td", {class: "actor"}, event.actor || ""),
      h("td", {class: "reason"}, event.reason || ""),
      h("td", {class: "data mono small-text"},
        Object.keys(event.data || {}).length ? JSON.stringify(event.data) : "")))));
}

/**
 * An id that matches several jobs (409 AmbiguousId): each candidate as a link, with its
 * task, status and age (`found`: id -> job, for the few candidates the server lists).
 */
function candidates(ref, problem, found) {
  const list = Array.isArray(problem.candidates) ? problem.candidates : [];
  return [
    h("p", {}, `“${ref}” matches more than one job: give more digits, or pick one.`),
    h("ul", {class: "candidates"}, list.map((id) => {
      const job = found.get(id);
      return h("li", {}, h("a", {href: `#/jobs/${enc(id)}`, class: "mono", title: id}, shortId(id)),
        job ? [" ", job.task, " ", statusBadge(job.status, job.display_status),
               h("span", {class: "muted"}, " created ", ageCell(job.created_at), " ago")] : null,
        h("span", {class: "muted mono small-text"}, ` ${id}`));
    })),
  ];
}

/** The candidates' jobs, to tell them apart (a candidate gone meanwhile is left out). */
async function candidateJobs(problem) {
  const ids = Array.isArray(problem.candidates) ? problem.candidates.slice(0, 20) : [];
  const jobs = await Promise.all(ids.map((id) => api.get(`/jobs/${enc(id)}`).catch(() => null)));
  return new Map(jobs.filter(Boolean).map((job) => [job.id, job]));
}

/**
 * The page of one job. `ref` is what the URL holds: the full id, the short id or a unique
 * prefix or suffix (the search box sends people here); the server resolves it, and the URL
 * is then rewritten to the full id.
 */
export function jobPage(view, params, ref) {
  let jobId = null; // the full id, once the server resolved ref
  let job = null;
  let events = [];
  let problem = null; // why there is no job to show: {kind, ...}
  const head = h("div", {class: "job-head"});
  const title = h("h1");
  const buttons = h("div");
  let buttonsFor = null; // the status the buttons were made for
  const body = h("div", {class: "job-body"});
  const trailBox = h("section", {class: "trail-box"});

  const showProblem = () => {
    buttonsFor = null;
    const heading = h("h1", {}, "Job ", h("span", {class: "mono"}, jobId ? shortId(jobId) : ref));
    let says;
    if (problem.kind === "deleted") says = h("p", {class: "muted"}, "This job was deleted.");
    else if (problem.kind === "ambiguous") {
      says = h("div", {class: "ambiguous"}, candidates(ref, problem.body, problem.found));
    }
    else if (problem.kind === "missing") says = h("p", {class: "muted"}, `No job matches “${ref}”.`);
    else says = h("p", {class: "muted"}, problem.message);
    head.replaceChildren(heading, says);
    body.replaceChildren();
    trailBox.replaceChildren();
  };

  const render = () => {
    if (problem) { showProblem(); return; }
    if (!job) return;
    title.replaceChildren("Job ", h("span", {class: "mono", title: job.id}, shortId(job.id)), " ",
      statusBadge(job.status, job.display_status));
    if (buttonsFor !== job.status) { // kept across progress ticks: clicks must not be lost
      buttonsFor = job.status;
      buttons.replaceChildren(jobButtons(job, (updated, seen) => {
        if (updated && updated.id && seen === feedSeen) { job = updated; render(); }
        loadTrail();
      }, {askReason: true, onStart: () => feedSeen}));
    }
    if (!head.contains(title)) head.replaceChildren(title, buttons);
    body.replaceChildren(fields(job), ...outcome(job));
    trailBox.replaceChildren(h("h2", {}, "Audit trail"), trail(events));
  };
  const scheduleRender = throttle(render, RENDER_MS);

  // Answers can come back out of order (a button's refetch and the feed's): only the
  // newest request's answer is shown, so an older trail never hides a newer row.
  let trailSeq = 0;
  let loadSeq = 0;
  // The feed brings every change of this job in commit order, so an answer to a request
  // that was out while the feed brought an update is dropped: the feed has (or will
  // bring) that state or a newer one. Written by onLive, read by load() and the buttons.
  let feedSeen = 0;

  async function loadTrail() {
    if (!jobId) return;
    const seq = ++trailSeq;
    try {
      const answer = await api.get(`/jobs/${enc(jobId)}/events`);
      if (seq !== trailSeq) return;
      events = answer;
      scheduleRender();
    } catch { /* shown by load() */ }
  }

  async function load() {
    const seq = ++loadSeq;
    const seen = feedSeen;
    try {
      const answer = await api.get(`/jobs/${enc(jobId || ref)}`);
      if (seq !== loadSeq) return;
      if (jobId && seen !== feedSeen) { loadTrail(); return; }
      job = answer;
      problem = null;
      if (!jobId) {
        jobId = job.id;
        if (ref !== jobId) history.replaceState(null, "", `#/jobs/${jobId}`);
      }
      await loadTrail();
      scheduleRender();
    } catch (error) {
      if (seq !== loadSeq) return;
      if (error.status === 404) problem = {kind: jobId ? "deleted" : "missing"};
      else if (error.status === 409 && !jobId) {
        const body = error.problem || {};
        problem = {kind: "ambiguous", body, found: await candidateJobs(body)};
      }
      else if (error.status === 422 && !jobId) problem = {kind: "refused", message: error.message};
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
      if (!jobId) return; // not resolved (yet): nothing on the feed is about this page
      if (kind === "job_update" && data && data.id === jobId) {
        feedSeen += 1;
        const moved = !job || job.status !== data.status || job.attempt !== data.attempt;
        job = data;
        problem = null;
        scheduleRender();
        if (moved) scheduleTrail();
      } else if (kind === "job_deleted" && data && data.id === jobId) {
        feedSeen += 1;
        problem = {kind: "deleted"};
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
