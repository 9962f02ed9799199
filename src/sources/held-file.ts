/**
 * A file read more than once — looked at, checked whole (an unclosed quote refuses it), then read as rows — held open
 * from the first look, so every read sees the file that was checked. A CLI import may wait minutes for another load's
 * turn: a file renamed over the name meanwhile is not read, and one removed is still read whole. A file written to in
 * place meanwhile is told apart by its size or modification time once its rows have been read (assertUnchanged), so
 * its reader can refuse it; a write that kept its size within the filesystem's timestamp granularity (milliseconds to
 * seconds), or set the time back, would not be seen.
 */
import fs from "node:fs";

/** node:fs for a stream of a held file: it reads, and leaves closing to the holder. */
const KEEP_OPEN = {
  open: fs.open,
  read: fs.read,
  close: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void) => done(null),
};

/** The file was written to while it was being read: what was read of it is not one file's content. */
export class FileChangedError extends Error {
  constructor(consequence?: string, options?: ErrorOptions) {
    super(`the file changed while it was being read${consequence ? `, ${consequence}` : ""}`, options);
  }
}

export class HeldFile {
  /** set by the first close(): a second awaits the same */
  private closing: Promise<void> | undefined;
  /** streams not yet closed: the descriptor is closed only after them (a destroyed stream may have a read in flight) */
  private readonly streams = new Set<fs.ReadStream>();

  private constructor(
    /** for messages and for telling kinds of file apart by name; every read goes through the descriptor */
    readonly path: string,
    private readonly fd: number,
    private readonly seen: fs.BigIntStats,
  ) {}

  /** Throws for anything but a regular file (a FIFO put in its place is not waited on: opened without blocking). */
  static open(path: string): HeldFile {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const seen = fs.fstatSync(fd, { bigint: true });
      if (!seen.isFile()) throw new Error(`${path} is not a regular file`);
      return new HeldFile(path, fd, seen);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** bytes, as it was when first looked at */
  get size(): number {
    return Number(this.seen.size);
  }

  /**
   * The whole file from its start. Each stream reads at its own position (start: 0), so several may be read one after
   * another or at once; destroying one leaves the file held.
   */
  stream(highWaterMark?: number): fs.ReadStream {
    this.assertOpen();
    // Its close is a no-op: a stream ended or destroyed leaves the descriptor open (autoClose would not: destroy
    // closes it whatever that says), and leaves this set once it has closed.
    const stream = fs.createReadStream(this.path, { fd: this.fd, start: 0, highWaterMark, fs: KEEP_OPEN });
    this.streams.add(stream);
    stream.once("close", () => this.streams.delete(stream));
    return stream;
  }

  /** Up to `bytes` bytes from the start. */
  head(bytes: number): Buffer {
    this.assertOpen();
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, fs.readSync(this.fd, buffer, 0, bytes, 0));
  }

  /** Throws FileChangedError when the file was written to since it was first looked at. */
  assertUnchanged(consequence?: string): void {
    this.assertOpen();
    const now = fs.fstatSync(this.fd, { bigint: true });
    if (now.size !== this.seen.size || now.mtimeNs !== this.seen.mtimeNs) throw new FileChangedError(consequence);
  }

  /** Ends every stream still open, waits for their reads in flight, then closes the file; a second call awaits the first. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    const open = [...this.streams];
    try {
      // 'close' comes after an 'error' too (a read in flight that failed): waited for as such, never rejected
      const closed = open.map((stream) =>
        stream.closed ? undefined : new Promise<void>((resolve) => stream.once("close", () => resolve())),
      );
      for (const stream of open) stream.destroy();
      await Promise.all(closed);
    } finally {
      fs.closeSync(this.fd);
    }
  }

  private assertOpen(): void {
    // the descriptor's number may already be another file's
    if (this.closing) throw new Error("the file is closed");
  }
}
