// What a user can do to one job or to a set of them, as buttons. Every action answers
// with the job's new state (or counts); the live feed brings the rest.

import * as api from "./api.js";
import {act, confirmDialog, h, isActive, shortId} from "./dom.js";

const enc = encodeURIComponent;

/**
 * Cancel one job. Force always asks first; `askReason` (the job page) asks why for a plain
 * cancel too, so the audit trail says who and why.
 */
export async function cancelJob(button, job, force, askReason = false) {
  let reason = "";
  if (force || askReason) {
    const what = `job ${shortId(job.id)} (${job.task})`;
    reason = await confirmDialog(force
      ? `Force-cancel ${what}? It is marked cancelled at once, whatever its worker is doing.`
      : `Cancel ${what}?`, force ? "Force cancel" : "Cancel job", {reason: true});
    if (reason === null) return undefined;
  }
  const body = reason ? {force, reason} : {force};
  return act(button, () => api.post(`/jobs/${enc(job.id)}/cancel`, body),
    (updated) => `${shortId(job.id)}: ${updated.status}`);
}

/** A scheduled job (delay, cron, retry backoff) made due at once; 409 if it is not scheduled. */
export function runNow(button, job) {
  return act(button, () => api.post(`/jobs/${enc(job.id)}/run-now`),
    (updated) => `${shortId(job.id)}: ${updated.status}`);
}

export function restartJob(button, job) {
  return act(button, () => api.post(`/jobs/${enc(job.id)}/restart`),
    (updated) => `${shortId(job.id)}: ${updated.status}`);
}

export async function deleteJob(button, job) {
  if (!await confirmDialog(`Delete job ${shortId(job.id)} and its audit trail?`, "Delete")) {
    return undefined;
  }
  return act(button, async () => { await api.del(`/jobs/${enc(job.id)}`); return true; },
    `${shortId(job.id)} deleted`);
}

/**
 * The buttons that apply to the job in its current status. `onDone(result, mark)` gets
 * the answer and what `onStart()` returned at the click: the page's count of feed updates
 * then, so it can tell whether the feed brought something newer than the answer meanwhile.
 */
export function jobButtons(job, onDone, {askReason = false, onStart} = {}) {
  const button = (label, cls, run) => h("button", {
    class: `small ${cls}`, type: "button",
    onclick: async (event) => {
      const mark = onStart ? onStart() : undefined;
      const result = await run(event.currentTarget);
      if (result !== undefined && onDone) onDone(result, mark);
    },
  }, label);
  const buttons = [];
  if (isActive(job)) {
    if (job.status === "scheduled") buttons.push(button("Run now", "", (b) => runNow(b, job)));
    if (job.status !== "cancelling") {
      buttons.push(button("Cancel", "warn", (b) => cancelJob(b, job, false, askReason)));
    }
    if (job.status === "running" || job.status === "cancelling") {
      buttons.push(button("Force cancel", "danger", (b) => cancelJob(b, job, true)));
    }
  } else {
    if (job.status !== "completed") buttons.push(button("Restart", "", (b) => restartJob(b, job)));
    buttons.push(button("Delete", "danger", (b) => deleteJob(b, job)));
  }
  return h("span", {class: "actions"}, buttons);
}

const BULK_VERBS = {cancel: "Cancel", restart: "Restart", delete: "Delete"};

/** POST /jobs/{cancel|restart|delete} for ids or a filter, after a confirmation. */
export async function bulk(button, action, selection, what, extra = {}) {
  if (!await confirmDialog(`${BULK_VERBS[action]} ${what}?`, BULK_VERBS[action])) {
    return undefined;
  }
  return act(button, () => api.post(`/jobs/${action}`, {...selection, ...extra}), (result) => {
    const refused = Object.keys(result.refused || {}).length;
    return `${BULK_VERBS[action]}: ${result.count} done` + (refused ? `, ${refused} refused` : "");
  });
}
