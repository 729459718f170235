#!/usr/bin/env bash
# `npm test`: type-check, lint, build the binary, then every bun test (unit, e2e against real
# clients on loopback, and smoke tests of dist/tappass and its personas). Ends with the one line
# CI reads: "N passed, N failed[, N skipped]" — checks count as one test each.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export OCLIF_DISABLE_ENGINE_WARNING=1
passed=0; failed=0; skipped=0
step() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); echo "== $name: ok ($((SECONDS - t0)) s)"; else failed=$((failed + 1)); echo "== $name: FAILED ($((SECONDS - t0)) s)"; fi
}
step gen npm run -s gen
step typecheck tsc --noEmit -p .
step lint biome lint --diagnostic-level=error src test scripts bench
step build bun scripts/build.ts
echo "== bun test"
log=$(mktemp)
bun test "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -Eo '^ *[0-9]+ pass' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
f=$(grep -Eo '^ *[0-9]+ fail' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
s=$(grep -Eo '^ *[0-9]+ skip' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "bun test exited $rc"; fi
rm -f "$log"
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
