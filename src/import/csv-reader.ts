import type { Readable } from 'node:stream';
import { CsvError, parse, type CastingContext } from 'csv-parse';
import { UnreadableFileError, type TableReader, type TableRow } from './table.types.ts';

/**
 * Streams an RFC 4180 CSV (UTF-8, optional BOM, CRLF or LF) as a header and rows, holding one parser buffer at
 * a time whatever the file's size. An unquoted empty cell is null (API.md §5: empty cell = null); a quoted one
 * (`""`) is the empty string, so a writer that quotes empty strings round-trips them too.
 */
export async function openCsvTable(input: Readable, file: string): Promise<TableReader> {
  const parser = input.pipe(
    parse({
      bom: true,
      relax_column_count: true, // a short or long row is a row error, not the end of the import
      skip_empty_lines: true,
      cast: emptyIsNull,
    }),
  );
  // A read error on the source (a damaged ZIP entry) must end the parse, not hang it.
  input.once('error', (error) => parser.destroy(error));
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<(string | null)[]>;
  const first = await next(iterator, file);
  if (first.done) throw new UnreadableFileError(file, 'is empty (expected a header row)');
  const header = first.value.map((name) => name ?? '');
  return { file, header, rows: rowsOf(iterator, file), close: () => void parser.destroy() };
}

function emptyIsNull(value: string, context: CastingContext): string | null {
  return value === '' && !context.quoting ? null : value;
}

async function* rowsOf(iterator: AsyncIterator<(string | null)[]>, file: string): AsyncGenerator<TableRow> {
  let row = 1;
  for (;;) {
    const result = await next(iterator, file);
    if (result.done) return;
    row += 1;
    yield { row, cells: result.value };
  }
}

async function next(iterator: AsyncIterator<(string | null)[]>, file: string): Promise<IteratorResult<(string | null)[]>> {
  try {
    return await iterator.next();
  } catch (error) {
    // Malformed CSV (an unclosed quote…) leaves the rest of the file unreadable: the whole file is refused.
    if (error instanceof CsvError) throw new UnreadableFileError(file, `is not valid CSV: ${error.message}`);
    throw error;
  }
}
