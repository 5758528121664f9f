// Batches: counts per status, progress, derived state, cancel. The page lists every batch,
// newest first, a page at a time (cursor pagination, like the jobs page), and opens any
// batch by id.

import * as api from "./api.js";
import {act, ageCell, confirmDialog, h, progressBar, shortId, statusBadge, toast} from "./dom.js";
import {throttle} from "./live.js";

const PAGE_SIZE = 20;
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

/**
 * The fresh card, holding the old card's Cancel button (its state brought up to date):
 * a refresh while the pointer is on the button must not swallow the click.
 */
function keepButton(fresh, old) {
  const kept = old && old.querySelector("button.warn");
  const made = fresh.querySelector("button.warn");
  if (kept && made) {
    kept.disabled = made.disabled;
    made.replaceWith(kept);
  }
  return fresh;
}

/** One batch's card, refetched when one of its jobs changes. */
export function liveBatch(batchId) {
  const element = h("div", {class: "batch-slot"});
  const refresh = async () => {
    try {
      const fresh = card(await api.get(`/batches/${enc(batchId)}`), refresh);
      element.replaceChildren(keepButton(fresh, element.querySelector(".card.batch")));
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
  let cursors = [null]; // cursors[i] fetches page i; i = cursors.length - 1 is shown
  let nextCursor = null;
  let shown = new Set(); // batch ids on the shown page
  let loadSeq = 0;
  const pageInfo = h("span", {class: "muted"});
  const newer = h("button", {type: "button", disabled: true,
    onclick: () => { cursors.pop(); load(); }}, "← Newer");
  const older = h("button", {type: "button", disabled: true, onclick: () => {
    if (nextCursor) { cursors.push(nextCursor); load(); }
  }}, "Older →");
  const load = async () => {
    const seq = ++loadSeq;
    const cursor = cursors[cursors.length - 1];
    try {
      const page = await api.get(`/batches${api.query({limit: PAGE_SIZE, cursor: cursor || undefined})}`);
      if (seq !== loadSeq) return; // a newer load is on its way
      nextCursor = page.next_cursor;
      shown = new Set(page.batches.map((batch) => batch.id));
      const before = new Map([...list.querySelectorAll(".card.batch")]
        .map((element) => [element.dataset.batchId, element]));
      list.replaceChildren(...page.batches.map(
        (batch) => keepButton(card(batch, scheduled), before.get(batch.id))));
      if (shown.size === 0) list.append(h("p", {class: "muted"}, "No batches."));
      newer.disabled = cursors.length === 1;
      older.disabled = !nextCursor;
      pageInfo.textContent = `page ${cursors.length} · ${shown.size} batches`;
    } catch (error) {
      if (seq === loadSeq) toast(error.message, "error");
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
    h("p", {class: "muted"}, "Newest first; open any batch by id."),
    list,
    h("div", {class: "pager"}, newer, pageInfo, older));
  load();
  return {
    onLive(kind, data) {
      if (kind !== "job_update") { scheduled(); return; }
      const batchId = data && data.batch_id;
      // a job of a shown batch changed, or one of a new batch (it belongs on the first page)
      if (batchId && (shown.has(batchId) || cursors.length === 1)) scheduled();
    },
    unmount() { scheduled.cancel(); },
  };
}
