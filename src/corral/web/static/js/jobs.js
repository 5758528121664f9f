// The jobs page: a filtered page of jobs (cursor pagination: the server never sends more
// than one page), live rows, per-job buttons, bulk select and cancel.

import * as api from "./api.js";
import {bulk, jobButtons} from "./actions.js";
import {liveBatch} from "./batches.js";
import {ACTIVE, STATUSES, act, ageCell, h, progressBar, shortId, statusBadge, toast} from "./dom.js";
import {throttle} from "./live.js";

const PAGE_SIZES = [25, 50, 100, 200];
const RENDER_MS = 200;
const REFETCH_MS = 1000;

function statusList(status) {
  if (!status) return [];
  return status === "active" ? ACTIVE : [status];
}

export function jobsPage(view, params) {
  const filter = {
    status: params.get("status") || "",
    queue: params.get("queue") || "",
    task: params.get("task") || "",
    batch_id: params.get("batch_id") || "",
    limit: Number(params.get("limit")) || 50,
  };
  let cursors = [null]; // cursors[i] fetches page i; i = cursors.length - 1 is shown
  let nextCursor = null;
  let jobs = []; // the shown page, newest first
  const byId = new Map(); // id -> job of the shown page
  const rows = new Map(); // id -> {tr, keys}: one key per cell, see columns
  const selected = new Set(); // ids ticked by the user (may span pages)
  let loadSeq = 0;
  // Answers and the feed race: the feed brings each job's changes in commit order, so a
  // job it updated after a request went out is at least as new as that request's answer.
  // fedMeanwhile (id -> job) holds the feed's updates while a page load is out (null
  // otherwise); fed (id -> count) counts feed updates, for button answers. Written by
  // onLive (the feed), read by load() and the buttons' onDone.
  let fedMeanwhile = null;
  const fed = new Map();

  const tbody = h("tbody");
  const pageInfo = h("span", {class: "muted"});
  const selectedInfo = h("span", {class: "muted"});
  const newer = h("button", {type: "button", onclick: () => { cursors.pop(); load(); }}, "← Newer");
  const older = h("button", {type: "button", onclick: () => {
    if (nextCursor) { cursors.push(nextCursor); load(); }
  }}, "Older →");
  const selectPage = h("input", {type: "checkbox", title: "select this page", "aria-label": "select page",
    onchange: (event) => {
      for (const job of jobs) (event.target.checked ? selected.add(job.id) : selected.delete(job.id));
      render();
    }});
  const batch = filter.batch_id ? liveBatch(filter.batch_id) : null;

  const isFiltered = () => Boolean(filter.status || filter.queue || filter.task || filter.batch_id);
  const serverFilter = () => ({status: statusList(filter.status), queue: filter.queue || undefined,
    task: filter.task || undefined, batch_id: filter.batch_id || undefined});
  const matches = (job) => (!filter.status || statusList(filter.status).includes(job.status))
    && (!filter.queue || job.queue === filter.queue) && (!filter.task || job.task === filter.task)
    && (!filter.batch_id || job.batch_id === filter.batch_id);

  function applyFilter(changes) {
    Object.assign(filter, changes);
    const search = new URLSearchParams();
    for (const [key, value] of [["status", filter.status], ["queue", filter.queue],
      ["task", filter.task], ["batch_id", filter.batch_id]]) {
      if (value) search.set(key, value);
    }
    if (filter.limit !== 50) search.set("limit", String(filter.limit));
    const text = search.toString();
    const hash = `#/jobs${text ? `?${text}` : ""}`;
    if ((filter.batch_id || null) !== (batch ? batch.id : null)) {
      location.hash = hash; // another batch card: the router mounts the page afresh
      return;
    }
    history.replaceState(null, "", hash);
    cancelMatching.hidden = !isFiltered();
    cursors = [null];
    load();
  }

  async function load() {
    const seq = ++loadSeq;
    const cursor = cursors[cursors.length - 1];
    fedMeanwhile = new Map();
    try {
      const page = await api.get(`/jobs${api.query({...serverFilter(), limit: filter.limit,
                                                     cursor: cursor || undefined})}`);
      if (seq !== loadSeq) return; // a newer load is on its way
      nextCursor = page.next_cursor;
      // a row the feed updated while the page was out keeps the feed's version
      jobs = page.jobs.map((job) => fedMeanwhile.get(job.id) || job);
      fedMeanwhile = null;
      byId.clear();
      for (const job of jobs) byId.set(job.id, job);
      for (const id of fed.keys()) if (!byId.has(id)) fed.delete(id);
      render();
    } catch (error) {
      if (seq === loadSeq) { fedMeanwhile = null; toast(error.message, "error"); }
    }
  }

  // Cells are rebuilt only when what they show changed, so a button under the pointer
  // survives progress ticks (a click needs the same element on press and release).
  const columns = [
    [(job) => selected.has(job.id), (job) => h("input", {type: "checkbox",
      "aria-label": `select ${job.id}`, checked: selected.has(job.id),
      onchange: (event) => { (event.target.checked ? selected.add(job.id) : selected.delete(job.id)); render(); }})],
    [(job) => job.id, (job) => h("a", {href: `#/jobs/${job.id}`, title: job.id, class: "mono"}, shortId(job.id))],
    [(job) => job.task, (job) => job.task],
    [(job) => job.display_status, (job) => statusBadge(job.status, job.display_status)],
    [(job) => job.phase, (job) => job.phase || ""],
    [(job) => JSON.stringify(job.progress) + job.status, (job) => progressBar(job.progress, job.status)],
    [(job) => job.queue, (job) => h("a", {href: `#/jobs?queue=${encodeURIComponent(job.queue)}`}, job.queue)],
    [(job) => `${job.attempt}/${job.max_attempts}`, (job) => `${job.attempt}/${job.max_attempts}`],
    [(job) => job.created_at, (job) => ageCell(job.created_at)],
    [(job) => job.worker_id, (job) => h("span", {class: "mono", title: job.worker_id || ""},
      job.worker_id || "")],
    [(job) => job.status, (job) => jobButtons(job, (updated, mark) => {
      if (!(updated && updated.id)) load();
      else if ((fed.get(job.id) || 0) === mark) apply(updated); // else the feed was newer
    }, {onStart: () => fed.get(job.id) || 0})],
  ];
  const CLASSES = ["", "", "task", "status-cell", "phase", "progress", "", "num", "num", "worker", ""];

  function patchRow(tr, keys, job) {
    tr.dataset.status = job.status;
    columns.forEach(([key, content], i) => {
      const value = String(key(job));
      if (keys[i] !== value) {
        keys[i] = value;
        tr.children[i].replaceChildren(content(job));
      }
    });
  }

  function render() {
    const seen = new Set();
    let previous = null;
    for (const job of jobs) {
      seen.add(job.id);
      let current = rows.get(job.id);
      if (!current) {
        const tr = h("tr", {dataset: {jobId: job.id}},
          CLASSES.map((cls) => h("td", {class: cls || null})));
        current = {tr, keys: []};
        rows.set(job.id, current);
      }
      patchRow(current.tr, current.keys, job);
      const expected = previous ? previous.nextElementSibling : tbody.firstElementChild;
      if (expected !== current.tr) { // move only rows out of order
        if (previous) previous.after(current.tr);
        else tbody.prepend(current.tr);
      }
      previous = current.tr;
    }
    for (const [id, {tr}] of rows) {
      if (!seen.has(id)) { tr.remove(); rows.delete(id); }
    }
    for (const empty of tbody.querySelectorAll("tr.empty")) empty.remove();
    if (jobs.length === 0) tbody.append(h("tr", {class: "empty"}, h("td", {colspan: 11}, "No jobs match.")));
    selectPage.checked = jobs.length > 0 && jobs.every((job) => selected.has(job.id));
    selectedInfo.textContent = `${selected.size} selected`;
    for (const button of bulkButtons) button.disabled = selected.size === 0;
    newer.disabled = cursors.length === 1;
    older.disabled = !nextCursor;
    pageInfo.textContent = `page ${cursors.length} · ${jobs.length} jobs`;
  }

  const scheduleRender = throttle(render, RENDER_MS);
  const scheduleLoad = throttle(load, REFETCH_MS);

  /** A newer state of a job: its row is patched, the page refetched if it leaves the filter. */
  function apply(data) {
    if (byId.has(data.id)) {
      const index = jobs.findIndex((job) => job.id === data.id);
      if (index >= 0) jobs[index] = data;
      byId.set(data.id, data);
      if (!matches(data)) scheduleLoad();
      scheduleRender();
    } else if (cursors.length === 1 && matches(data)) {
      scheduleLoad(); // a new or newly matching job on the first page
    }
  }

  function onLive(kind, data) {
    if (batch) batch.onLive(kind, data);
    if (kind === "job_update" && data && data.id) {
      if (fedMeanwhile) fedMeanwhile.set(data.id, data);
      if (byId.has(data.id)) fed.set(data.id, (fed.get(data.id) || 0) + 1);
      apply(data);
    } else if (kind === "job_deleted" && data && byId.has(data.id)) {
      jobs = jobs.filter((job) => job.id !== data.id);
      byId.delete(data.id);
      selected.delete(data.id);
      scheduleRender();
    } else if (kind === "resync" || kind === "poll") {
      scheduleLoad();
    }
  }

  const selection = () => ({ids: [...selected]});
  const afterBulk = (result) => { if (result) { selected.clear(); load(); } };
  const bulkButtons = [
    h("button", {type: "button", class: "warn", onclick: async (event) => afterBulk(
      await bulk(event.currentTarget, "cancel", selection(), `${selected.size} selected jobs`))},
      "Cancel selected"),
    h("button", {type: "button", onclick: async (event) => afterBulk(
      await bulk(event.currentTarget, "restart", selection(), `${selected.size} selected jobs`))},
      "Restart selected"),
    h("button", {type: "button", class: "danger", onclick: async (event) => afterBulk(
      await bulk(event.currentTarget, "delete", selection(), `${selected.size} selected jobs`))},
      "Delete selected"),
  ];
  const cancelMatching = h("button", {type: "button", class: "warn",
    title: "cancel every active job matching the filter, on every page",
    onclick: async (event) => {
      const counted = await act(event.currentTarget,
        () => api.post("/jobs/cancel", {...serverFilter(), dry_run: true}));
      if (!counted) return;
      if (counted.count === 0) { toast("No active job matches the filter."); return; }
      afterBulk(await bulk(event.currentTarget, "cancel", serverFilter(),
        `${counted.count} jobs matching the filter`));
    }}, "Cancel all matching…");
  cancelMatching.hidden = !isFiltered();

  const textFilter = (name, placeholder, value) => {
    let timer = null;
    return h("input", {type: "search", name, placeholder, value, "aria-label": placeholder,
      oninput: (event) => {
        clearTimeout(timer);
        const text = event.target.value.trim();
        timer = setTimeout(() => applyFilter({[name]: text}), 300);
      }});
  };
  const statusSelect = h("select", {name: "status", "aria-label": "status",
    onchange: (event) => applyFilter({status: event.target.value})},
    h("option", {value: ""}, "any status"), h("option", {value: "active"}, "active"),
    STATUSES.map((status) => h("option", {value: status}, status)));
  statusSelect.value = filter.status;
  const sizeSelect = h("select", {name: "limit", "aria-label": "page size",
    onchange: (event) => applyFilter({limit: Number(event.target.value)})},
    PAGE_SIZES.map((size) => h("option", {value: size}, `${size} per page`)));
  sizeSelect.value = String(filter.limit);

  view.replaceChildren(...[
    h("h1", {}, "Jobs"),
    batch ? batch.element : null,
    h("form", {class: "filters", onsubmit: (event) => event.preventDefault()},
      statusSelect,
      textFilter("queue", "queue", filter.queue),
      textFilter("task", "task", filter.task),
      textFilter("batch_id", "batch id", filter.batch_id),
      sizeSelect),
    h("div", {class: "bulk"}, selectedInfo, bulkButtons, cancelMatching),
    h("table", {class: "jobs"},
      h("thead", {}, h("tr", {},
        h("th", {}, selectPage), h("th", {}, "id"), h("th", {}, "task"), h("th", {}, "status"),
        h("th", {}, "phase"), h("th", {}, "progress"), h("th", {}, "queue"),
        h("th", {}, "attempt"), h("th", {}, "age"), h("th", {}, "worker"), h("th", {}, ""))),
      tbody),
    h("div", {class: "pager"}, newer, pageInfo, older),
  ].filter(Boolean));
  render();
  load();

  return {
    onLive,
    unmount() {
      scheduleRender.cancel();
      scheduleLoad.cancel();
      if (batch) batch.unmount();
    },
  };
}
