/**
 * Server-Sent Events, both ways: an incremental parser (bytes in, whole events out, chunk
 * boundaries anywhere, CRLF or LF) and a serialiser. The gateway re-frames every event it
 * forwards, so what the client sees is always well-formed even when the upstream splits
 * lines across TCP reads.
 */

export interface SseEvent {
  /** The `event:` field, when present. */
  event?: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  id?: string;
}

export class SseParser {
  private buf = "";
  private decoder = new TextDecoder();
  private event: string | undefined;
  private data: string[] = [];
  private id: string | undefined;

  /** Feed bytes (or text); returns the events completed by them. */
  push(chunk: Uint8Array | string): SseEvent[] {
    this.buf += typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      start = nl + 1;
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** End of input: a trailing event without its blank line still counts. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.buf + this.decoder.decode();
    this.buf = "";
    if (rest.length > 0) this.line(rest.replace(/\r$/, ""), out);
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0 || this.event !== undefined) {
        out.push({ ...(this.event !== undefined ? { event: this.event } : {}), data: this.data.join("\n"), ...(this.id !== undefined ? { id: this.id } : {}) });
      }
      this.event = undefined;
      this.data = [];
      this.id = undefined;
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id") this.id = value;
  }
}

/** Serialise one event. `data` objects are JSON-encoded on one line. */
export function sseFrame(data: unknown, event?: string): string {
  const body = typeof data === "string" ? data : JSON.stringify(data);
  const lines = body.split("\n").map((l) => `data: ${l}`).join("\n");
  return `${event ? `event: ${event}\n` : ""}${lines}\n\n`;
}
