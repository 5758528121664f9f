// Every call to the HTTP API goes through request(): it adds the token, turns error bodies
// ({"error", "message"}) into ApiError, and on 401/403 asks for a token and tries again.
// The token lives in sessionStorage only: never in a URL, gone when the tab closes.

export const BASE = "api/v1";
const TOKEN_KEY = "corral.token";
const MAX_PROMPTS = 3;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.message || `HTTP ${status}`);
    this.status = status;
    this.error = problem.error || "HTTPError";
    this.problem = problem; // the whole body: its context fields (e.g. AmbiguousId candidates)
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const token = getToken();
  return token ? {Authorization: `Bearer ${token}`} : {};
}

// Set by the app: shows the token dialog, resolves once a token is saved, rejects if the
// user gives up. Concurrent 401s share one prompt.
let promptForToken = async () => { throw new Error("no token prompt"); };
let pendingPrompt = null;

export function setTokenPrompt(prompt) {
  promptForToken = prompt;
}

export function askForToken(message) {
  if (!pendingPrompt) {
    pendingPrompt = promptForToken(message).finally(() => { pendingPrompt = null; });
  }
  return pendingPrompt;
}

async function problemOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body === "object") return body;
  } catch { /* not JSON */ }
  return {error: "HTTPError", message: `${response.status} ${response.statusText}`};
}

/** The decoded JSON answer (null for 204); throws ApiError with the server's message. */
export async function request(method, path, body) {
  for (let prompts = 0; ; prompts++) {
    const sent = getToken();
    const headers = authHeaders();
    const init = {method, headers, cache: "no-store"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${BASE}${path}`, init);
    if (response.ok) return response.status === 204 ? null : response.json();
    const problem = await problemOf(response);
    if ((response.status === 401 || response.status === 403) && prompts < MAX_PROMPTS) {
      if (getToken() !== sent) continue;  // a token came while this call was out: retry
      try {
        await askForToken(problem.message);
      } catch {
        throw new ApiError(response.status, problem);
      }
      continue;
    }
    throw new ApiError(response.status, problem);
  }
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

/** "?a=1&status=x&status=y" from an object; empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") search.append(key, String(one));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
