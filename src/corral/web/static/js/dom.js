// Building blocks of every page. Text from the API only ever goes in as text nodes
// (never innerHTML), so job data cannot inject markup.

/**
 * h("a", {href: "#", class: "x", onclick: fn}, "text", child) -> element. Children may be
 * nested arrays to any depth (a helper returning [dt, dd] inside a list of rows): they are
 * flattened, never turned into text.
 */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "checked" || key === "value") element[key] = value;
    // through the CSSOM: the Content-Security-Policy refuses style="..." attributes
    else if (key === "style") element.style.cssText = String(value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export const ACTIVE = ["scheduled", "queued", "running", "cancelling"];
export const STATUSES = [...ACTIVE, "completed", "failed", "cancelled"];

export function isActive(job) {
  return ACTIVE.includes(job.status);
}

const UNITS = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];

/** "42s", "5m", "3h 10m", "2d 4h" */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  let rest = Math.max(0, Math.round(seconds));
  const parts = [];
  for (const [unit, size] of UNITS) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

export function age(iso) {
  return iso ? duration((Date.now() - Date.parse(iso)) / 1000) : "";
}

/** An age cell that the page clock (tickAges) keeps current. */
export function ageCell(iso) {
  return h("span", {class: "age", dataset: {since: iso || ""}, title: iso || ""}, age(iso));
}

export function tickAges(root) {
  for (const cell of root.querySelectorAll(".age[data-since]")) {
    if (cell.dataset.since) cell.textContent = age(cell.dataset.since);
  }
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** A job's (or batch's) short id: the last 12 hex digits, the random part (DESIGN §1). */
export function shortId(id) {
  return id ? String(id).replace(/-/g, "").slice(-12) : "";
}

export function statusBadge(status, label) {
  const base = status.split(" ")[0];
  return h("span", {class: `status status-${base}`}, label || status);
}

/**
 * A progress bar: ratio when the total is known, else the current count. The label holds
 * the numbers and the message; {message: false} leaves the message to the caller.
 */
export function progressBar(progress, status, {message = true} = {}) {
  const ratio = progress && progress.ratio !== null && progress.ratio !== undefined
    ? Math.max(0, Math.min(1, progress.ratio)) : null;
  const done = status === "completed";
  const shown = done && ratio === null ? 1 : ratio;
  const label = [];
  if (progress && (progress.total || progress.current)) {
    label.push(progress.total ? `${fmtNumber(progress.current)}/${fmtNumber(progress.total)}`
      : fmtNumber(progress.current));
  }
  if (message && progress && progress.message) label.push(progress.message);
  const percent = shown === null ? 0 : shown * 100;
  return h("div", {class: `bar bar-${status}`, role: "progressbar", "aria-valuemin": 0,
                   "aria-valuemax": 100, "aria-valuenow": Math.round(percent * 10) / 10,
                   title: label.join(" — ")},
    h("div", {class: "fill", style: `width: ${percent.toFixed(1)}%`}),
    h("span", {class: "bar-label"}, label.join(" · ")));
}

function fmtNumber(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

export function json(value) {
  return h("pre", {class: "json"}, JSON.stringify(value, null, 2));
}

/** A message in the corner; errors stay longer. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", {class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status"},
    message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3000);
}

/**
 * Resolves true when the user confirms in the modal dialog, false otherwise. With
 * {reason: true} the dialog also asks why, and resolves to the reason given ("" for none)
 * or null when the user goes back.
 */
export function confirmDialog(message, okLabel = "OK", {reason = false} = {}) {
  const dialog = document.getElementById("confirm-dialog");
  const reasonBox = dialog.querySelector(".reason");
  const reasonInput = reasonBox.querySelector("input");
  dialog.querySelector(".message").textContent = message;
  dialog.querySelector("button[value=ok]").textContent = okLabel;
  reasonBox.hidden = !reason;
  reasonInput.value = "";
  // Enter in the reason field means OK (the form's first button is Back)
  reasonInput.onkeydown = (event) => {
    if (event.key === "Enter") { event.preventDefault(); dialog.close("ok"); }
  };
  dialog.returnValue = "";
  dialog.showModal();
  if (reason) reasonInput.focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "ok";
      if (reason) resolve(ok ? reasonInput.value.trim() : null);
      else resolve(ok);
    }, {once: true});
  });
}

/** Run an API action from a button: disables it meanwhile, shows errors as a toast. */
export async function act(button, action, done) {
  if (button) button.disabled = true;
  try {
    const result = await action();
    if (done) toast(typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    toast(error.message, "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}
