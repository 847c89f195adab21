import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Spec = Record<string, { type: 'string' | 'boolean'; required?: boolean }>;

/** Parses `--name value` options of one command; unknown or missing options are a UsageError. */
export function parseOptions<S extends Spec>(argv: string[], spec: S): { [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string | undefined } {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  for (const [name, option] of Object.entries(spec)) {
    if (option.required && values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  return values as never;
}

/** A whole number option, e.g. --contacts 1000000. */
export function countOption(name: string, raw: string | undefined, max = 10_000_000): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > max) throw new UsageError(`--${name} must be a whole number from 0 to ${max}`);
  return Number(raw);
}

/** Prints the one JSON object a creating command answers with (logs go to stderr). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
