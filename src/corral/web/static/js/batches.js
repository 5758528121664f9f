// Batches: counts per status, progress, derived state, cancel. The API has no list of
// batches, so the page shows those of the most recent jobs and opens any batch by id.

import * as api from "./api.js";
import {act, ageCell, confirmDialog, h, progressBar, shortId, statusBadge, toast} from "./dom.js";
import {throttle} from "./live.js";

const RECENT_JOBS = 500; // batches are found among this many newest jobs
const MAX_BATCHES = 20;
const REFETCH_MS = 1000;
const enc = encodeURIComponent;

function card(batch, refresh) {
  const counts = Object.entries(batch.counts).filter(([, n]) => n > 0)
    .map(([status, n]) => h("a", {class: "count", href: `#/jobs?batch_id=${enc(batch.id)}&status=${status}`},
      statusBadge(status), ` ${n}`));
  const finished = ["completed", "failed", "cancelled"].includes(batch.state);
  const cancel = h("button", {type: "button", class: "small warn", disabled: finished,
    onclick: async (event) => {
      if (!await confirmDialog(`Cancel every unfinished job of batch ${batch.name || shortId(batch.id)}?`,
        "Cancel batch")) return;
      const result = await act(event.currentTarget,
        () => api.post(`/batches/${enc(batch.id)}/cancel`, {}),
        (answer) => `batch: ${answer.jobs_cancelled} jobs cancelled`);
      if (result) refresh();
    }}, "Cancel batch");
  return h("div", {class: "card batch", dataset: {batchId: batch.id, state: batch.state}},
    h("div", {class: "card-head"},
      h("a", {href: `#/jobs?batch_id=${enc(batch.id)}`, class: "title"},
        batch.name || "batch", " ", h("span", {class: "mono muted"}, shortId(batch.id))),
      statusBadge(batch.state), h("span", {class: "muted"}, "created ", ageCell(batch.created_at), " ago"),
      cancel),
    progressBar({current: Math.round(batch.progress * batch.total), total: batch.total,
                 ratio: batch.progress, message: null}, batch.state),
    h("div", {class: "counts"}, counts));
}

/** One batch's card, refetched when one of its jobs changes. */
export function liveBatch(batchId) {
  const element = h("div", {class: "batch-slot"});
  const refresh = async () => {
    try {
      element.replaceChildren(card(await api.get(`/batches/${enc(batchId)}`), refresh));
    } catch (error) {
      element.replaceChildren(h("p", {class: "muted"}, error.message));
    }
  };
  const scheduled = throttle(refresh, REFETCH_MS);
  refresh();
  return {
    id: batchId,
    element,
    onLive(kind, data) {
      if (kind !== "job_update" || (data && data.batch_id === batchId)) scheduled();
    },
    unmount() { scheduled.cancel(); },
  };
}

export function batchesPage(view) {
  const list = h("div", {class: "cards"});
  let shown = []; // batch ids on the page
  const load = async () => {
    try {
      const page = await api.get(`/jobs${api.query({limit: RECENT_JOBS})}`);
      const ids = [...new Set(page.jobs.map((job) => job.batch_id).filter(Boolean))]
        .slice(0, MAX_BATCHES);
      const batches = await Promise.all(ids.map((id) => api.get(`/batches/${enc(id)}`)
        .catch(() => null)));
      shown = ids;
      list.replaceChildren(...batches.filter(Boolean).map((batch) => card(batch, scheduled)));
      if (shown.length === 0) list.append(h("p", {class: "muted"}, "No batches among recent jobs."));
    } catch (error) {
      toast(error.message, "error");
    }
  };
  const scheduled = throttle(load, REFETCH_MS);
  const lookup = h("input", {type: "search", name: "batch", placeholder: "batch id",
                             "aria-label": "batch id"});
  view.replaceChildren(
    h("h1", {}, "Batches"),
    h("form", {class: "filters", onsubmit: (event) => {
      event.preventDefault();
      if (lookup.value.trim()) location.hash = `#/jobs?batch_id=${enc(lookup.value.trim())}`;
    }}, lookup, h("button", {type: "submit"}, "Open")),
    h("p", {class: "muted"}, `Batches of the ${RECENT_JOBS} most recent jobs; open any other by id.`),
    list);
  load();
  return {
    onLive(kind, data) {
      if (kind !== "job_update" || (data && data.batch_id)) scheduled();
    },
    unmount() { scheduled.cancel(); },
  };
}
