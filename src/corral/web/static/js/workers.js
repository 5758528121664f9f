// Workers: alive or dead, what they serve, the jobs they hold now.

import * as api from "./api.js";
import {ageCell, h, progressBar, shortId, statusBadge, toast} from "./dom.js";
import {throttle} from "./live.js";

const REFETCH_MS = 1000;
const HEARTBEAT_MS = 5000; // worker liveness changes without a job event

const STATE_LABEL = {running: "alive", dead: "dead", stopped: "stopped"};

function row(worker) {
  return h("tr", {dataset: {workerId: worker.id, state: worker.state}},
    h("td", {class: "mono", title: worker.id}, worker.id),
    h("td", {}, h("span", {class: `status worker-${worker.state}`},
      STATE_LABEL[worker.state] || worker.state)),
    h("td", {}, `${worker.host} · pid ${worker.pid}`),
    h("td", {}, worker.queues.join(", ")),
    h("td", {class: "num"}, `${worker.jobs.length}/${worker.concurrency}`),
    h("td", {class: "num"}, ageCell(worker.last_seen), " ago"),
    h("td", {class: "num"}, ageCell(worker.started_at)),
    h("td", {}, h("ul", {class: "held"}, worker.jobs.map((job) => h("li", {},
      h("a", {href: `#/jobs/${job.id}`, class: "mono"}, shortId(job.id)), " ", job.task, " ",
      statusBadge(job.status, job.display_status), progressBar(job.progress, job.status))))));
}

export function workersPage(view) {
  const tbody = h("tbody");
  async function load() {
    try {
      const workers = await api.get("/workers");
      const order = {running: 0, dead: 1, stopped: 2};
      workers.sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3)
        || b.last_seen.localeCompare(a.last_seen));
      tbody.replaceChildren(...workers.map(row));
      if (workers.length === 0) tbody.append(h("tr", {}, h("td", {colspan: 8}, "No workers.")));
    } catch (error) {
      toast(error.message, "error");
    }
  }
  const scheduled = throttle(load, REFETCH_MS);
  const timer = setInterval(scheduled, HEARTBEAT_MS);
  view.replaceChildren(h("h1", {}, "Workers"),
    h("table", {class: "workers"},
      h("thead", {}, h("tr", {}, ["worker", "state", "host", "queues", "jobs", "last seen",
        "up", "current jobs"].map((name) => h("th", {}, name)))),
      tbody));
  load();
  return {
    onLive() { scheduled(); },
    unmount() { scheduled.cancel(); clearInterval(timer); },
  };
}
