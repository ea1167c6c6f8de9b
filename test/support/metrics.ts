// Prometheus's text exposition format as tsof-switch's --metrics serves it,
// parsed for the tests and benchmarks that scrape it.

/** Each sample line parsed, every other line a comment; value() finds a sample by name and some of its labels. */
export function parseMetrics(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n').filter(Boolean)) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { types, samples, value };
}

/** Scrapes a --metrics endpoint (HOST:PORT) and parses what it serves. */
export async function scrape(hostPort: string): Promise<ReturnType<typeof parseMetrics>> {
  const res = await fetch(`http://${hostPort}/metrics`);
  if (res.status !== 200) throw new Error(`http://${hostPort}/metrics: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}
