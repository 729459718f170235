/** Server-Sent Events as Streamable HTTP uses them: one JSON-RPC message per `data:` event. */

/** Where a stream got to: the last event id and the server's reconnection delay (SEP-1699 resumption). */
export interface SseCursor {
  lastEventId?: string;
  retryMs?: number;
}

/**
 * Read an event stream; calls onData with each event's data (multi-line data joined by \n).
 * `cursor` (optional) is updated with every `id:` and `retry:` field, priming events included.
 */
export async function readSse(body: ReadableStream<Uint8Array>, onData: (data: string, event: string) => void, cursor?: SseCursor): Promise<void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let data: string[] = [];
  let event = "message";
  const line = (l: string) => {
    if (l === "") {
      const text = data.join("\n");
      if (text.trim().length > 0) onData(text, event); // empty data = a priming / keep-alive event
      data = [];
      event = "message";
      return;
    }
    if (l.startsWith(":")) return;
    const i = l.indexOf(":");
    const field = i < 0 ? l : l.slice(0, i);
    const value = i < 0 ? "" : l.slice(i + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    else if (field === "id" && cursor && !value.includes("\u0000")) cursor.lastEventId = value;
    else if (field === "retry" && cursor && /^\d+$/.test(value)) cursor.retryMs = Number(value);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl = buf.search(/\r?\n/);
    while (nl >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(buf[nl] === "\r" ? nl + 2 : nl + 1);
      line(l);
      nl = buf.search(/\r?\n/);
    }
  }
  if (buf.length > 0) line(buf);
  line("");
}

/** A writable SSE response body. */
export class SseWriter {
  readonly stream: ReadableStream<Uint8Array>;
  private ctrl!: ReadableStreamDefaultController<Uint8Array>;
  private readonly enc = new TextEncoder();
  closed = false;
  onclose?: () => void;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.ctrl = c;
      },
      cancel: () => {
        this.closed = true;
        this.onclose?.();
      },
    });
  }

  send(data: unknown): boolean {
    if (this.closed) return false;
    try {
      this.ctrl.enqueue(this.enc.encode(`event: message\ndata: ${JSON.stringify(data)}\n\n`));
      return true;
    } catch {
      this.closed = true;
      return false;
    }
  }

  /** A comment line, to keep idle connections open. */
  ping(): void {
    if (this.closed) return;
    try {
      this.ctrl.enqueue(this.enc.encode(": ping\n\n"));
    } catch {
      this.closed = true;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ctrl.close();
    } catch {}
    this.onclose?.();
  }
}
