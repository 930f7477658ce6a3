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
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-report.json "$@" || status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(".cache/vitest-report.json", "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' || status=1
exit "$status"
