/**
 * A separate audit-writing process for the multi-process and crash tests:
 *   bun test/engine/audit/writer.ts HOME COUNT CONCURRENCY TAG
 * appends rows under load (CONCURRENCY appends in flight) and prints "seq trace_id" on stdout
 * for every row AFTER its append was acknowledged (committed). COUNT 0 = run until killed.
 * AUDIT_CHECKPOINT_AFTER=N starts the background WAL checkpointer after N rows (default: the log's).
 */
import { writeSync } from "node:fs";
import { loadKeys } from "../../../src/engine/crypto/keys.ts";
import { openAuditLog } from "../../../src/engine/audit/index.ts";
import { openState } from "../../../src/engine/store/state.ts";
import { sampleRow } from "./helpers.ts";

const [home, countArg, concArg, tag] = process.argv.slice(2);
const count = Number(countArg ?? 0);
const conc = Number(concArg ?? 16);
const db = openState(home as string);
const after = process.env.AUDIT_CHECKPOINT_AFTER;
const log = openAuditLog(db, loadKeys(home), after === undefined ? {} : { backgroundCheckpointAfter: Number(after) });
let i = 0;
const worker = async () => {
  while (count === 0 || i < count) {
    const n = i++;
    const row = await log.append(sampleRow(n, { trace_id: `${tag}-${n}` }));
    // written before the next line runs: an ack the parent counts must not sit in a buffer that
    // process.exit (or SIGKILL) throws away
    writeSync(1, `${row.seq} ${row.trace_id}\n`);
  }
};
await Promise.all(Array.from({ length: conc }, worker));
await log.flush();
process.exit(0);
