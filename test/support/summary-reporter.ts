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
    // Files that use LSE's reference say, on their metadata, how many comparisons they skipped without it.
    const lse = modules.filter((m) => m.meta().lseSkipped !== undefined);
    if (lse.length && !existsSync(lseReference())) {
      const comparisons = lse.reduce((n, m) => n + (m.meta().lseSkipped ?? 0), 0);
      const where = lse.filter((m) => m.meta().lseSkipped).map((m) => `${m.relativeModuleId} ${m.meta().lseSkipped}`);
      const tests = lse.flatMap((m) => [...m.children.allTests()].filter((t) => t.result().state === 'skipped').map((t) => `"${t.fullName}"`));
      console.log(
        `\nSkipped for want of LSE's reference (not at ${lseReference()}; set ROSTER_LSE_REFERENCE to its path): ${comparisons} comparisons with LSE's OpenAPI schemas (${where.join(', ') || 'none'}) and ${tests.length} tests that only compare with LSE (${tests.join(', ') || 'none'}); every other assertion ran.`,
      );
    }
    console.log(`\nTests: ${count.passed} passed, ${count.failed + broken} failed, ${count.skipped + count.pending} skipped`);
  }
}
