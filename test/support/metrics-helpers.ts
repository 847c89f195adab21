/** One sample of the Prometheus text format: `name{label="value",…} number`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET /metrics as a scraper sends it (with the token when given). */
export async function scrape(url: string, token?: string): Promise<{ status: number; contentType: string; body: string; samples: Sample[] }> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body, samples: res.status === 200 ? parseSamples(body) : [] };
}

/** Parses the exposition strictly enough that a malformed line fails the test rather than being skipped. */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    const raw = match[3]!;
    // Prometheus reads NaN in any case (prom-client writes "Nan" for an empty event-loop histogram).
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw.toLowerCase() === 'nan' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`not a number: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (undefined when absent). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
