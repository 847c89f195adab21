import type { Readable } from 'node:stream';
import { SaxesParser } from 'saxes';

/** Callbacks of a streaming XML parse; names are local (a namespace prefix such as `x:` is dropped). */
export interface XmlHandlers {
  open(name: string, attributes: Record<string, string>): void;
  text(text: string): void;
  close(name: string): void;
}

/** Sees each chunk before the parser (import-limits.ts `xmlTokenGuard`); throws to stop the parse. */
export type ChunkGuard = (chunk: string) => void;
const noGuard: ChunkGuard = () => undefined;

const localName = (name: string): string => {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
};

function parserFor(handlers: XmlHandlers): SaxesParser {
  const parser = new SaxesParser({ position: false });
  parser.on('opentag', (tag) => handlers.open(localName(tag.name), tag.attributes as Record<string, string>));
  parser.on('text', (text) => handlers.text(text));
  parser.on('cdata', (text) => handlers.text(text));
  parser.on('closetag', (tag) => handlers.close(localName(tag.name)));
  return parser;
}

/**
 * Parses an XML stream chunk by chunk and yields what the handlers emitted after each chunk, so a consumer that
 * is slower than the file pauses the stream (for-await) and memory holds one chunk's worth of items.
 */
export async function* streamXml<T>(
  input: Readable,
  build: (emit: (item: T) => void) => XmlHandlers,
  guard: ChunkGuard = noGuard,
): AsyncGenerator<T> {
  let pending: T[] = [];
  const parser = parserFor(build((item) => pending.push(item)));
  input.setEncoding('utf8'); // a StringDecoder: multi-byte characters split across chunks stay whole
  for await (const chunk of input) {
    guard(chunk as string);
    parser.write(chunk as string);
    if (pending.length > 0) {
      const ready = pending;
      pending = [];
      yield* ready;
    }
  }
  parser.close();
  yield* pending;
}

/** Parses a whole (small) XML entry: workbook, relationships, styles, shared strings. */
export async function parseXml(input: Readable, handlers: XmlHandlers, guard: ChunkGuard = noGuard): Promise<void> {
  const parser = parserFor(handlers);
  input.setEncoding('utf8');
  for await (const chunk of input) {
    guard(chunk as string);
    parser.write(chunk as string);
  }
  parser.close();
}
