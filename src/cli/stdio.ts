/**
 * Output for the fast paths (exec, the hook, their errors) without process.stdout/stderr: the
 * first touch of either builds Node's stream machinery, ~7 ms of CPU paid on every governed run
 * and every hook call. Synchronous and whole: a full non-blocking pipe is waited out, a closed
 * one (EPIPE) drops the rest.
 */
import { writeSync } from "node:fs";

export function writeFd(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") Bun.sleepSync(1);
      else if (code === "EPIPE") return;
      else throw e;
    }
  }
}

export const writeOut = (text: string) => writeFd(1, text);
export const writeErr = (text: string) => writeFd(2, text);
