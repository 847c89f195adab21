import type { Readable } from 'node:stream';
import { CsvError, parse, type CastingContext } from 'csv-parse';
import { checkColumnCount, DEFAULT_IMPORT_LIMITS, excerpt, ImportLimitError, type ImportLimits } from './import-limits.ts';
import { UnreadableFileError, type TableReader, type TableRow } from './table.types.ts';

/**
 * Streams an RFC 4180 CSV (UTF-8, optional BOM, CRLF or LF) as a header and rows, holding one parser buffer at
 * a time whatever the file's size. An unquoted empty cell is null (API.md §5: empty cell = null); a quoted one
 * (`""`) is the empty string, so a writer that quotes empty strings round-trips them too.
 */
export async function openCsvTable(input: Readable, file: string, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<TableReader> {
  const parser = input.pipe(
    parse({
      bom: true,
      // One field or record is buffered whole until it ends: a 50 MB field would be held whole, and quoted back.
      max_record_size: limits.maxRecordBytes,
      relax_column_count: true, // a short or long row is a row error, not the end of the import
      skip_empty_lines: true,
      cast: emptyIsNull,
    }),
  );
  // A read error on the source (a damaged ZIP entry) must end the parse, not hang it.
  input.once('error', (error) => parser.destroy(error));
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<(string | null)[]>;
  const first = await next(iterator, file, limits);
  if (first.done) throw new UnreadableFileError(file, 'is empty (expected a header row)');
  checkColumnCount(first.value.length, limits, file, 1);
  const header = first.value.map((name) => name ?? '');
  return { file, header, rows: rowsOf(iterator, file, limits), close: () => void parser.destroy() };
}

function emptyIsNull(value: string, context: CastingContext): string | null {
  return value === '' && !context.quoting ? null : value;
}

async function* rowsOf(iterator: AsyncIterator<(string | null)[]>, file: string, limits: ImportLimits): AsyncGenerator<TableRow> {
  let row = 1;
  for (;;) {
    const result = await next(iterator, file, limits);
    if (result.done) return;
    row += 1;
    checkColumnCount(result.value.length, limits, file, row);
    yield { row, cells: result.value };
  }
}

async function next(iterator: AsyncIterator<(string | null)[]>, file: string, limits: ImportLimits): Promise<IteratorResult<(string | null)[]>> {
  try {
    return await iterator.next();
  } catch (error) {
    if (error instanceof CsvError && error.code === 'CSV_MAX_RECORD_SIZE') {
      throw new ImportLimitError(file, `has a record longer than ${limits.maxRecordBytes} characters, the limit IMPORT_MAX_RECORD_BYTES`);
    }
    // Malformed CSV (an unclosed quote…) leaves the rest of the file unreadable: the whole file is refused. Some
    // csv-parse messages quote the field: only a short excerpt of it is repeated.
    if (error instanceof CsvError) throw new UnreadableFileError(file, `is not valid CSV: ${excerpt(error.message, 160)}`);
    throw error;
  }
}
