/**
 * USD price per million tokens, by model (prefix match, longest first). enforce_dollar_budget
 * reserves with these and reconciles with real usage. An unknown model is priced at the
 * FALLBACK (the dearest row), so a budget never under-counts.
 */
export interface Price {
  input_per_mtok: number;
  output_per_mtok: number;
}

export const PRICES: Record<string, Price> = {
  "gpt-4o-mini": { input_per_mtok: 0.15, output_per_mtok: 0.6 },
  "gpt-4o": { input_per_mtok: 2.5, output_per_mtok: 10 },
  "gpt-4.1-nano": { input_per_mtok: 0.1, output_per_mtok: 0.4 },
  "gpt-4.1-mini": { input_per_mtok: 0.4, output_per_mtok: 1.6 },
  "gpt-4.1": { input_per_mtok: 2, output_per_mtok: 8 },
  "gpt-5-nano": { input_per_mtok: 0.05, output_per_mtok: 0.4 },
  "gpt-5-mini": { input_per_mtok: 0.25, output_per_mtok: 2 },
  "gpt-5": { input_per_mtok: 1.25, output_per_mtok: 10 },
  o1: { input_per_mtok: 15, output_per_mtok: 60 },
  "o3-mini": { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  o3: { input_per_mtok: 2, output_per_mtok: 8 },
  "o4-mini": { input_per_mtok: 1.1, output_per_mtok: 4.4 },
  "claude-3-5-haiku": { input_per_mtok: 0.8, output_per_mtok: 4 },
  "claude-haiku-4": { input_per_mtok: 1, output_per_mtok: 5 },
  "claude-3-5-sonnet": { input_per_mtok: 3, output_per_mtok: 15 },
  "claude-3-7-sonnet": { input_per_mtok: 3, output_per_mtok: 15 },
  "claude-sonnet-4": { input_per_mtok: 3, output_per_mtok: 15 },
  "claude-opus-4": { input_per_mtok: 15, output_per_mtok: 75 },
  "claude-3-opus": { input_per_mtok: 15, output_per_mtok: 75 },
};

export const FALLBACK_PRICE: Price = { input_per_mtok: 15, output_per_mtok: 75 };

const ordered = Object.keys(PRICES).sort((a, b) => b.length - a.length);

/** The price row for a model id (provider prefixes like "openai/" are ignored). */
const priced = new Map<string, { price: Price; known: boolean }>();

export function priceOf(model: string | undefined, table: Record<string, Price> = PRICES): { price: Price; known: boolean } {
  if (table !== PRICES) return lookup(model, table);
  // several budget steps price every call's model: once per model id
  const id = model ?? "";
  let hit = priced.get(id);
  if (!hit) {
    hit = lookup(model, table);
    if (priced.size > 1000) priced.clear();
    priced.set(id, hit);
  }
  return hit;
}

function lookup(model: string | undefined, table: Record<string, Price>): { price: Price; known: boolean } {
  const m = (model ?? "").toLowerCase().replace(/^[a-z0-9_-]+\//, "");
  const keys = table === PRICES ? ordered : Object.keys(table).sort((a, b) => b.length - a.length);
  for (const k of keys) if (m.startsWith(k.toLowerCase())) return { price: table[k] as Price, known: true };
  return { price: FALLBACK_PRICE, known: false };
}

/** Cost in USD, rounded to 1e-8. */
export function costOf(model: string | undefined, usage: { input_tokens: number; output_tokens: number }, table?: Record<string, Price>): number {
  const { price } = priceOf(model, table);
  const c = (usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok) / 1e6;
  return Math.round(c * 1e8) / 1e8;
}
