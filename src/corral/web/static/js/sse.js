// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, so the
// dashboard reads the stream itself and parses it with this (the WHATWG event-stream
// format: "field: value" lines, a blank line ends an event, ":" lines are comments).

export class SseParser {
  /** @param {(event: {type: string, data: string, id: string}) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.type = "";
    this.data = [];
    this.lastId = "";
    this.started = false;
  }

  /** Feed decoded text; events are dispatched as soon as their blank line arrives. */
  push(text) {
    this.buffer += text;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.charCodeAt(0) === 0xfeff) this.buffer = this.buffer.slice(1);
    }
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.buffer);
      if (!match) return;
      // a lone "\r" at the end may be the first half of "\r\n": wait for the next chunk
      if (match[0] === "\r" && match.index === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length > 0) {
        this.onEvent({type: this.type || "message", data: this.data.join("\n"), id: this.lastId});
      }
      this.type = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment: keep-alive pings
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
  }
}

/**
 * Read an event stream until it ends: resolves when the server closes it, rejects on a
 * network error, an abort, or a non-2xx answer (the error carries `status`).
 */
export async function readStream(url, headers, signal, onEvent, onOpen) {
  const response = await fetch(url, {headers: {...headers, Accept: "text/event-stream"},
                                     signal, cache: "no-store"});
  if (!response.ok || !response.body) {
    const error = new Error(`stream ${url}: HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  onOpen();
  const parser = new SseParser(onEvent);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) {
      parser.push(decoder.decode());
      return;
    }
    parser.push(decoder.decode(value, {stream: true}));
  }
}
