/**
 * Progress and status for long work, always on stderr. On a terminal it is an ink line with a
 * spinner and optional bar; without a TTY (pipes, CI, NO_COLOR, TERM=dumb) it degrades to plain
 * lines with no escape codes. Usage:
 *   const p = await startProgress("conformance"); p.update("file 10/908", 10 / 908); p.done("908 files");
 */
import type { ProgressState } from "./progress-view.tsx";

export interface Progress {
  update(message: string, ratio?: number): void;
  done(message?: string): Promise<void>;
  fail(message: string): Promise<void>;
}

export function interactive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return !!stream.isTTY && !process.env.CI && !process.env.NO_COLOR && process.env.TERM !== "dumb";
}

export async function startProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (!interactive(stream)) return plainProgress(label, stream);
  const { mount } = await import("./progress-view.tsx");
  const state: ProgressState = { label, message: "", status: "running" };
  let listener: (s: ProgressState) => void = () => {};
  const app = mount(stream, (fn) => {
    listener = fn;
    return state;
  });
  const finish = async (status: ProgressState["status"], message?: string) => {
    state.status = status;
    if (message !== undefined) state.message = message;
    listener(state);
    await new Promise((r) => setTimeout(r, 20));
    app.unmount();
  };
  return {
    update(message, ratio) {
      state.message = message;
      state.ratio = ratio;
      listener(state);
    },
    done: (m) => finish("done", m),
    fail: (m) => finish("failed", m),
  };
}

/** Plain lines, at most one every 500 ms (plus the final one): readable in CI logs. */
export function plainProgress(label: string, stream: NodeJS.WriteStream | { write(s: string): unknown } = process.stderr): Progress {
  let last = 0;
  return {
    update(message, ratio) {
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      stream.write(`${label}: ${message}${ratio !== undefined ? ` (${Math.round(ratio * 100)}%)` : ""}\n`);
    },
    async done(message) {
      stream.write(`${label}: done${message ? ` — ${message}` : ""}\n`);
    },
    async fail(message) {
      stream.write(`${label}: failed — ${message}\n`);
    },
  };
}
