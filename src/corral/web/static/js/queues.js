// Queues: depth, running, concurrency limit (set / remove), pause and resume.

import * as api from "./api.js";
import {act, h, toast} from "./dom.js";
import {throttle} from "./live.js";

const REFETCH_MS = 1000;
const enc = encodeURIComponent;

export function queuesPage(view) {
  const tbody = h("tbody");
  const editing = new Set(); // queues whose limit input has focus: not re-rendered meanwhile

  const change = (button, name, body, done) => act(button,
    () => api.patch(`/queues/${enc(name)}`, body), done).then((queue) => {
    if (queue) scheduled();
  });

  function row(queue) {
    const limit = h("input", {type: "number", min: 1, value: queue.concurrency ?? "",
      placeholder: "no limit", "aria-label": `limit of ${queue.name}`, class: "limit",
      onfocus: () => editing.add(queue.name), onblur: () => editing.delete(queue.name)});
    return h("tr", {dataset: {queue: queue.name, paused: String(queue.paused)}},
      h("td", {}, h("a", {href: `#/jobs?queue=${enc(queue.name)}`}, queue.name)),
      h("td", {class: "num"}, queue.queued),
      h("td", {class: "num"}, queue.scheduled),
      h("td", {class: "num"}, queue.running),
      h("td", {},
        h("form", {class: "inline", onsubmit: (event) => {
          event.preventDefault();
          const value = Number(limit.value);
          const body = limit.value === "" ? {unlimited: true} : {concurrency: value};
          change(event.submitter, queue.name, body, `${queue.name}: limit ${limit.value || "removed"}`);
        }}, limit, h("button", {type: "submit", class: "small"}, "Set"))),
      h("td", {}, queue.paused ? h("span", {class: "status status-paused"}, "paused")
        : h("span", {class: "status status-running"}, "active")),
      h("td", {}, h("button", {type: "button", class: `small ${queue.paused ? "" : "warn"}`,
        onclick: (event) => change(event.currentTarget, queue.name, {paused: !queue.paused},
          `${queue.name} ${queue.paused ? "resumed" : "paused"}`)},
        queue.paused ? "Resume" : "Pause")));
  }

  async function load() {
    if (editing.size) return;
    try {
      const queues = await api.get("/queues");
      tbody.replaceChildren(...queues.map(row));
      if (queues.length === 0) tbody.append(h("tr", {}, h("td", {colspan: 7}, "No queues yet.")));
    } catch (error) {
      toast(error.message, "error");
    }
  }
  const scheduled = throttle(load, REFETCH_MS);

  view.replaceChildren(h("h1", {}, "Queues"),
    h("table", {class: "queues"},
      h("thead", {}, h("tr", {}, ["queue", "queued", "scheduled", "running", "limit", "state", ""]
        .map((name) => h("th", {}, name)))),
      tbody));
  load();
  return {
    onLive() { scheduled(); },
    unmount() { scheduled.cancel(); },
  };
}
