#!/usr/bin/env bash
# The test command (`npm test`): everything CI runs, on a fresh Debian machine as root.
#  1. prepares the machine (installs the Debian packages the test layers need when they are missing, builds and
#     caches a debootstrapped root for the boot simulation),
#  2. builds the library (the CLI tests run the compiled bin) and lints it,
#  3. runs every vitest project: unit (which also checks that the committed generated Heat layer equals a fresh
#     `npm run gen:heat`), golden, property, heat (real engine), bootstrap.
# A prerequisite that cannot be had is a failure that says what is missing; no test skips silently.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "prepare the machine"
bash scripts/prepare-test-env.sh

step "build"
npm run --silent build

step "lint (eslint, prettier)"
npm run --silent lint

step "tests"
mkdir -p .cache
rm -f .cache/vitest-report*.json
status=0
# The layers run one after another: on a 2-core machine the real-Heat, real-etcd, twin and qemu layers would
# otherwise compete for the CPU (a guest starved of CPU misses its own timers). Arguments select tests instead.
if [ "$#" -gt 0 ]; then
  npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@" || status=$?
else
  for project in unit heat bootstrap autoscaling twin vm; do
    step "tests: $project"
    started=$SECONDS
    npx vitest run --project "$project" --reporter=default --reporter=json \
      --outputFile.json=".cache/vitest-report-$project.json" || status=$?
    printf '== tests: %s took %d s\n' "$project" "$((SECONDS - started))"
  done
fi
node -e '
const fs = require("fs");
const path = require("path");
const files = fs.readdirSync(".cache").filter((f) => /^vitest-report.*\.json$/.test(f));
let passed = 0, failed = 0, skipped = 0, total = 0;
// the failures are named last, so that the tail of a long log (all a CI summary may keep) says which tests failed
const firstLine = (text) => String(text || "").split("\n")[0].slice(0, 300);
for (const f of files) {
  const r = JSON.parse(fs.readFileSync(".cache/" + f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  total += r.numTotalTests;
  for (const file of r.testResults) {
    const rel = path.relative(process.cwd(), file.name);
    const failures = file.assertionResults.filter((t) => t.status === "failed");
    if (file.status === "failed" && failures.length === 0) console.log(`FAILED ${rel} (the file itself): ${firstLine(file.message)}`);
    for (const t of failures) console.log(`FAILED ${rel} > ${t.fullName}: ${firstLine((t.failureMessages || [])[0])}`);
  }
}
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
if (total === 0) { console.error("no test ran"); process.exit(1); }
if (skipped > 0) { console.error("tests were skipped: no test may skip silently"); process.exit(1); }
' || status=1
exit "$status"
