/**
 * A file read more than once — looked at, checked whole (an unclosed quote refuses it), then read as rows — held open
 * from the first look, so every read sees the file that was checked. A CLI import may wait minutes for another load's
 * turn: a file renamed over the name meanwhile is not read, and one removed is still read whole. A file written to in
 * place meanwhile is refused once its rows have been read, before anything of it is applied (its size or modification
 * time moved; a write that kept both within the same nanosecond would not be seen).
 */
import fs from "node:fs";

/** node:fs for a stream of a held file: it reads, and leaves closing to the holder. */
const KEEP_OPEN = {
  open: fs.open,
  read: fs.read,
  close: (_fd: number, done: (err: NodeJS.ErrnoException | null) => void) => done(null),
};

/** The file was written to while it was being read: nothing read from it can be trusted whole. */
export class FileChangedError extends Error {}

export class HeldFile {
  private open = true;

  private constructor(
    /** for messages and for telling kinds of file apart by name; every read goes through the descriptor */
    readonly path: string,
    private readonly fd: number,
    private readonly seen: fs.BigIntStats,
  ) {}

  static open(path: string): HeldFile {
    const fd = fs.openSync(path, "r");
    try {
      return new HeldFile(path, fd, fs.fstatSync(fd, { bigint: true }));
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
   * another; destroying one leaves the file held.
   */
  stream(highWaterMark?: number): fs.ReadStream {
    // A stream destroyed closes its descriptor whatever autoClose says: its close is made a no-op instead.
    return fs.createReadStream(this.path, { fd: this.fd, start: 0, autoClose: false, highWaterMark, fs: KEEP_OPEN });
  }

  /** Up to `bytes` bytes from the start. */
  head(bytes: number): Buffer {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, fs.readSync(this.fd, buffer, 0, bytes, 0));
  }

  /** Throws FileChangedError when the file was written to since it was first looked at. */
  assertUnchanged(): void {
    const now = fs.fstatSync(this.fd, { bigint: true });
    if (now.size !== this.seen.size || now.mtimeNs !== this.seen.mtimeNs) {
      throw new FileChangedError(
        "the file changed while it was being read, so nothing of it was applied; import it again once it is written",
      );
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    fs.closeSync(this.fd);
  }
}
