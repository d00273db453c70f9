import { createReadStream } from 'node:fs';

export interface Line {
  /** The line without its terminator (LF or CRLF). */
  bytes: Buffer;
  /** Byte offset where the line starts. */
  offset: number;
  /** Byte offset just past its terminator: where the next line starts. */
  nextOffset: number;
}

/** Lines of a file from a byte offset, with exact byte offsets (readline hides them), streamed in chunks. */
export async function* readLines(path: string, start: number): AsyncGenerator<Line> {
  const file = createReadStream(path, { start });
  let carry: Buffer = Buffer.alloc(0);
  let carryOffset = start;
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      let buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let from = 0;
      for (let nl = buffer.indexOf(10, from); nl !== -1; nl = buffer.indexOf(10, from)) {
        const end = nl > from && buffer[nl - 1] === 13 ? nl - 1 : nl;
        yield { bytes: buffer.subarray(from, end), offset: carryOffset + from, nextOffset: carryOffset + nl + 1 };
        from = nl + 1;
      }
      buffer = buffer.subarray(from);
      carryOffset += from;
      carry = Buffer.from(buffer);
    }
    if (carry.length > 0) yield { bytes: carry, offset: carryOffset, nextOffset: carryOffset + carry.length };
  } finally {
    file.destroy();
  }
}
