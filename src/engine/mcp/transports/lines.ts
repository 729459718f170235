/**
 * Newline-delimited JSON-RPC framing (the stdio transport): read lines from a byte stream,
 * write one message per line.
 */
import type { Readable, Writable } from "node:stream";

export type ByteSource = ReadableStream<Uint8Array> | Readable | NodeJS.ReadStream;
export type ByteSink = Writable | NodeJS.WriteStream | { write(chunk: string): unknown };

/** Calls onLine for every complete line (without the newline); resolves when the stream ends. */
export async function readLines(src: ByteSource, onLine: (line: string) => void): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  const push = (chunk: Uint8Array | string) => {
    buf += typeof chunk === "string" ? chunk : dec.decode(chunk, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line.trim().length > 0) onLine(line);
      nl = buf.indexOf("\n");
    }
  };
  if (typeof (src as ReadableStream).getReader === "function") {
    const reader = (src as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value) push(value);
    }
  } else {
    for await (const chunk of src as AsyncIterable<Uint8Array | string>) push(chunk);
  }
  if (buf.trim().length > 0) onLine(buf);
}
