/**
 * Rego interpreter bench: compile time and median decision time of a prepared RBAC policy
 * (~50 roles, input with 5 fields).
 */
import { compileModules } from "../src/engine/rego/index.ts";

const POLICY = `package authz
import rego.v1

default allow := false

allow if {
  not deny
  some role in user_roles
  some grant in data.roles[role].grants
  grant.action == input.action
  glob_ok(grant.resource)
}

user_roles contains r if some r in data.bindings[input.user]

deny if input.tenant in data.blocked_tenants

deny if input.time_hour > 22

glob_ok(res) if res == "*"
glob_ok(res) if res == input.resource
`;

function data(): Record<string, unknown> {
  const roles: Record<string, unknown> = {};
  for (let i = 0; i < 50; i++)
    roles[`role${i}`] = { grants: Array.from({ length: 4 }, (_, j) => ({ action: `act${j}`, resource: j === 3 ? "*" : `res${i}-${j}` })) };
  const bindings: Record<string, string[]> = {};
  for (let u = 0; u < 200; u++) bindings[`user${u}`] = [`role${u % 50}`, `role${(u * 7) % 50}`];
  return { roles, bindings, blocked_tenants: ["evil", "bad"] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export default async function (): Promise<Record<string, unknown>> {
  const d = data();
  const compileTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    compileModules([{ filename: "authz.rego", source: POLICY }], { data: d }).prepare("allow = data.authz.allow");
    compileTimes.push(performance.now() - t0);
  }
  const q = compileModules([{ filename: "authz.rego", source: POLICY }], { data: d }).prepare("allow = data.authz.allow");
  const inputs = Array.from({ length: 64 }, (_, i) => ({
    user: `user${i}`,
    action: `act${i % 4}`,
    resource: `res${i % 50}-${i % 4}`,
    tenant: i % 9 === 0 ? "evil" : "acme",
    time_hour: 10,
  }));
  let allowed = 0;
  for (let i = 0; i < 2000; i++) if ((q.eval(inputs[i % inputs.length])[0]?.allow as boolean) === true) allowed++;
  const samples: number[] = [];
  for (let round = 0; round < 50; round++) {
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) q.eval(inputs[i % inputs.length]);
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  return {
    compile_ms_median: Number(median(compileTimes).toFixed(3)),
    decision_us_median: Number(median(samples).toFixed(2)),
    decision_us_p90: Number([...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.9)]?.toFixed(2)),
    allowed_in_warmup: allowed,
    target_us: 20,
  };
}
