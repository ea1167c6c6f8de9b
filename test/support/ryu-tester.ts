// What the tests that run scripts/ryu-switch-test.ts share: the part of its
// results.json they read, and the one failure that is the tester's own and
// earns a case a second run (docs/conformance.md): the tester's switch counted
// the frame the target sent, but the tester's packet-in for it did not come
// within its 3 s. That is a wait of the tester's, not a verdict on the target.

export interface TesterCase {
  file: string;
  category: string;
  index: number;
  description: string;
  result: string;
  reason?: string;
}

export interface TesterResults {
  aborted?: string;
  seconds: number;
  totals: { total: number; ok: number; error: number; notRun: number };
  cases: TesterCase[];
}

const TESTER_WAIT = /^Receiving timeout: increment in rx_packets in tester/;

/**
 * Runs once more, through run (case selectors such as "match/00_IN_PORT.json#7" in, their results out), the cases
 * that failed only by the tester's wait, and puts their second results in place of the first. Returns the selectors
 * run again.
 */
export async function runTesterWaitsAgain(results: TesterResults, run: (selectors: string[]) => Promise<TesterResults>): Promise<string[]> {
  const waited = results.cases.filter((c) => c.result !== 'OK' && TESTER_WAIT.test(c.reason ?? '')).map((c) => `${c.file}#${c.index}`);
  if (!waited.length || results.aborted) return [];
  const again = await run(waited);
  for (const c of again.cases) {
    const i = results.cases.findIndex((r) => r.file === c.file && r.index === c.index);
    results.cases[i] = c;
  }
  return waited;
}
