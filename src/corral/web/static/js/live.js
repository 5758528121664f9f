// The live feed: one connection to GET /events/stream shared by every page. Listeners get
// ("job_update", job), ("job_deleted", {id}), ("resync", {}) from the stream, and
// ("poll", {}) every POLL_MS while the stream is down (not deployed, dropped, refused), so
// pages stay fresh either way. The stream is retried with backoff; after it (re)connects a
// "resync" tells pages to refetch what they may have missed.

import {BASE, askForToken, authHeaders, getToken} from "./api.js";
import {readStream} from "./sse.js";

const POLL_MS = 2000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const listeners = new Set(); // written by pages (subscribe/unsubscribe), read by dispatch
const stateListeners = new Set();
let state = "connecting"; // "connecting" | "live" | "polling"
let pollTimer = null;

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onState(listener) {
  stateListeners.add(listener);
  listener(state);
}

function dispatch(kind, data) {
  for (const listener of [...listeners]) {
    try {
      listener(kind, data);
    } catch (error) {
      console.error("live listener failed", error);
    }
  }
}

function setState(next) {
  state = next;
  for (const listener of stateListeners) listener(state);
  if (state === "live") {
    clearInterval(pollTimer);
    pollTimer = null;
  } else if (!pollTimer) {
    pollTimer = setInterval(() => dispatch("poll", {}), POLL_MS);
  }
}

function onEvent(event) {
  let data = {};
  try {
    data = event.data ? JSON.parse(event.data) : {};
  } catch {
    return; // not ours
  }
  dispatch(event.type, data);
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Keep the stream open for the life of the page. */
export async function start() {
  let backoff = BACKOFF_MIN_MS;
  setState("connecting");
  for (;;) {
    let opened = false;
    const sent = getToken();
    try {
      await readStream(`${BASE}/events/stream`, authHeaders(), undefined, onEvent, () => {
        opened = true;
        backoff = BACKOFF_MIN_MS;
        setState("live");
        dispatch("resync", {});
      });
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        if (getToken() !== sent) continue;  // a token came while this call was out: retry
        try {
          await askForToken("the live feed needs a token");
          continue;
        } catch { /* keep polling; the next attempt asks again */ }
      }
    }
    setState("polling");
    await pause(opened ? BACKOFF_MIN_MS : backoff);
    if (!opened) backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  }
}

/**
 * fn() at most once per `ms`, trailing: calls during the wait fold into one. For renders
 * and refetches driven by a burst of events.
 */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  const run = () => {
    timer = null;
    last = Date.now();
    Promise.resolve().then(fn).catch((error) => console.error(error));
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  schedule.cancel = () => { clearTimeout(timer); timer = null; };
  return schedule;
}
