import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestModule } from 'vitest/node';

/** Where test/support/lse-schema.ts looks for LSE's reference (same rule; kept free of its imports). */
const lseReference = () => process.env.ROSTER_LSE_REFERENCE || fileURLToPath(new URL('../../../shared/reference/lse-openapi-user-management.yaml', import.meta.url));

/**
 * Ends the run with one plain line, "Tests: N passed, N failed, N skipped", that any CI can read;
 * before it, when LSE's reference is absent, one line saying which comparisons were skipped and why.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const m of modules) for (const t of m.children.allTests()) count[t.result().state]++;
    // A module that failed to load (e.g. a throwing beforeAll) has no passed tests: count it as a failure.
    const broken = modules.filter((m) => m.state() === 'failed' && ![...m.children.allTests()].some((t) => t.result().state === 'failed')).length;
    const lse = modules.map((m) => m.meta().lseSkipped ?? 0).filter((n) => n > 0);
    if (!existsSync(lseReference()) && lse.length) {
      const n = lse.reduce((a, b) => a + b, 0);
      console.log(
        `\nSkipped: ${n} comparisons with LSE's OpenAPI schemas in ${lse.length} test files (and the tests that only compare with LSE), because LSE's reference is not at ${lseReference()} (set ROSTER_LSE_REFERENCE to its path); every other assertion ran.`,
      );
    }
    console.log(`\nTests: ${count.passed} passed, ${count.failed + broken} failed, ${count.skipped + count.pending} skipped`);
  }
}
