/** Glob matching for tool names, domains and paths: `*` and `**` match any run of characters, `?` one. */
const cache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const src = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*+/g, ".*").replace(/\?/g, ".");
    re = new RegExp(`^${src}$`);
    cache.set(pattern, re);
  }
  return re;
}

export const isGlob = (s: string) => /[*?]/.test(s);
export const globMatch = (pattern: string, s: string) => pattern === s || (isGlob(pattern) && globToRegExp(pattern).test(s));

/** True when `path` is `base` or inside it (for deny_paths vs read_write). */
export function pathWithin(path: string, base: string): boolean {
  const b = base.replace(/\/+$/, "");
  return path === b || path.startsWith(`${b}/`) || globMatch(base, path);
}
