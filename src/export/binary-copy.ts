/*
 * PostgreSQL's binary COPY format (big-endian): a 19-byte file header, then per row an int16 field count and per
 * field an int32 length (-1 for null) and the value's binary form, then an int16 -1 trailer.
 */

/** PostgreSQL counts timestamps in microseconds from 2000-01-01 UTC. */
const PG_EPOCH_MS = 946_684_800_000;

export function readInt32(row: Uint8Array, i: number): number {
  return ((row[i] as number) << 24) | ((row[i + 1] as number) << 16) | ((row[i + 2] as number) << 8) | (row[i + 3] as number);
}

/**
 * Epoch milliseconds of a binary timestamptz at `i` (exact for millisecond precision, like the timestamp(3)
 * columns); NaN for ±infinity.
 */
export function readTimestampMs(row: Uint8Array, i: number): number {
  const high = readInt32(row, i);
  const low = readInt32(row, i + 4) >>> 0;
  if ((high === 0x7fffffff && low === 0xffffffff) || (high === -0x80000000 && low === 0)) return Number.NaN;
  // µs = high·2^32 + low overflows a double's 53 bits past ±285 years from 2000 (a 9999-12-31 "forever" is
  // common), so divide by 1000 in parts: 2^32 = 1000·4294967 + 296, and every term below stays exact.
  return high * 4_294_967 + Math.floor((high * 296 + low) / 1000) + PG_EPOCH_MS;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Splits the file header and trailer of a binary COPY off the rows. PostgreSQL sends one CopyData message per row,
 * except that the 19-byte header travels in the first message (before the first row, or before the trailer when
 * there is none), and the trailer (int16 -1) comes last.
 */
export class BinaryCopyFraming {
  #headerSeen = false;

  /** The row in a CopyData message; undefined for the trailer. */
  row(message: Buffer): Buffer | undefined {
    let data = message;
    if (!this.#headerSeen) {
      if (data.length < 19 || !data.subarray(0, 11).equals(SIGNATURE)) throw new Error('not a binary COPY stream');
      data = data.subarray(19 + data.readUInt32BE(15));
      this.#headerSeen = true;
    }
    if (data.length === 2 && data[0] === 0xff && data[1] === 0xff) return undefined;
    return data;
  }
}
