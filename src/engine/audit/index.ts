/**
 * The audit log: one hash-chained, Ed25519-signed row per governed call.
 *   openAuditLog(db, keys).append(row)   -> resolves once committed (group commit, multi-process safe)
 *   verifyDb / verifyJsonl                -> first bad seq and why
 *   exportLines(db, keys, {format})       -> jsonl (verifiable) | ocsf | cef
 *   eraseTrace(db, keys, trace_id)        -> signed tombstones, chain stays valid
 */
export { openAuditLog, writeBatch, type AuditLog, type AuditLogOptions } from "./store.ts";
export { readRows, tailRows, readHead, lastSeq, iterateDbRows, fromDbRow, type ReadFilter } from "./read.ts";
export { verifyDb, verifyDbAsync, verifyJsonl, verifyJsonlFile, type VerifyOptions } from "./verify.ts";
export { exportLines, toCef, toOcsf, EXPORT_FORMATS, type ExportFormat } from "./export.ts";
export { eraseTrace } from "./erase.ts";
export { makeSigner, makeVerifier, type Signer, type Verifier } from "./signer.ts";
export { GENESIS_HASH, rowHash, headerOf, contentOf, sha256hex } from "./chain.ts";
export type { AuditRow, AuditRowInput, AuditDecision, Tombstone, VerifyResult } from "./types.ts";
