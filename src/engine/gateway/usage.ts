/**
 * Token estimates (before the call, for the budget reservation) and cost (after it, from the
 * upstream's real usage). Prices are USD per million tokens; an unknown model is priced at the
 * conservative default so budgets never treat it as free.
 */

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

/** [model prefix, input $/Mtok, output $/Mtok]; the longest matching prefix wins. */
const PRICES: Array<[string, number, number]> = [
  ["gpt-4o-mini", 0.15, 0.6],
  ["gpt-4o", 2.5, 10],
  ["gpt-4.1-nano", 0.1, 0.4],
  ["gpt-4.1-mini", 0.4, 1.6],
  ["gpt-4.1", 2, 8],
  ["gpt-5-nano", 0.05, 0.4],
  ["gpt-5-mini", 0.25, 2],
  ["gpt-5", 1.25, 10],
  ["o4-mini", 1.1, 4.4],
  ["o3-mini", 1.1, 4.4],
  ["o3", 2, 8],
  ["o1", 15, 60],
  ["claude-3-5-haiku", 0.8, 4],
  ["claude-3-haiku", 0.25, 1.25],
  ["claude-haiku-4", 1, 5],
  ["claude-3-5-sonnet", 3, 15],
  ["claude-3-7-sonnet", 3, 15],
  ["claude-sonnet-4", 3, 15],
  ["claude-opus-4", 15, 75],
  ["claude-3-opus", 15, 75],
];
const DEFAULT_PRICE: [number, number] = [3, 15];

export function priceOf(model: string | undefined): { input: number; output: number; known: boolean } {
  const m = (model ?? "").toLowerCase();
  let best: [string, number, number] | undefined;
  for (const p of PRICES) if (m.startsWith(p[0]) && (!best || p[0].length > best[0].length)) best = p;
  return best ? { input: best[1], output: best[2], known: true } : { input: DEFAULT_PRICE[0], output: DEFAULT_PRICE[1], known: false };
}

export function costUsd(model: string | undefined, u: Usage): number {
  const p = priceOf(model);
  return Math.round(((u.input_tokens * p.input + u.output_tokens * p.output) / 1_000_000) * 1e8) / 1e8;
}

/** ~4 characters per token over the request's text; the output estimate is the caller's max or a default. */
export function estimateTokens(promptChars: number, maxOutput: number | undefined): Usage {
  return { input_tokens: Math.max(1, Math.ceil(promptChars / 4)), output_tokens: Math.max(1, Math.min(maxOutput ?? 1024, 64_000)) };
}
