/**
 * Records imported from the browser: the upload is spooled to a temporary file, then imported as the CLI imports a
 * file (sources/import.ts), as a job whose progress the console polls. A file that cannot be read as rows is refused
 * whole with the line named, as the CLI does; rejected rows are listed by line and reason, never by value.
 *
 * The spooled file holds subscriber records in plaintext. It is safe there for its short life: it lives in a
 * directory only this user may enter (import-spool.ts), is itself 0600, is never named in an answer or a log, and is
 * deleted when the import ends, whatever its outcome (and the directory with it), or when the server stops (the
 * import aborted, nothing applied); a process killed meanwhile leaves it until the next server's start sweeps it.
 * The jobs' records in the store are bounded: the oldest beyond STORED_JOBS are deleted as new ones begin.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import type { Keyring } from "../common/keyring";
import { isJsonObject } from "../common/stored-json";
import { chinaDate } from "../rules/precheck";
import { CsvFileError } from "../sources/csv";
import { type ImportOptions, importRecordsFile } from "../sources/import";
import { LoadOutcomeUnknown } from "../store/load-outcome-unknown";
import type { MetaRows, RecordRows } from "../store/ports";
import { makeSpoolDir } from "./import-spool";
import { OperationError } from "./route";

/** The largest file the browser may send. */
export const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;
const JOBS_KEPT = 20;
/** Jobs kept in the store (meta rows), for the instances that did not run them; older ones are deleted. */
export const STORED_JOBS = 100;
/** The ids of the stored jobs, oldest first. */
const JOB_INDEX_KEY = "record-import:index";
/** A running job's progress is written to the store at most this often, for the other instances (or workers). */
const PUBLISH_EVERY_MS = 500;
const metaKey = (id: string) => `record-import:${id}`;
const REJECTIONS_SHOWN = 100;

export type ImportState = "running" | "done" | "refused" | "failed";

export interface ImportJob {
  id: string;
  state: ImportState;
  bytesRead: number;
  bytesTotal: number;
  read: number;
  imported: number;
  replaced: number;
  rejected: number;
  /** the first rejected rows: line and reason, never a value */
  rejections: Array<{ line: number; reason: string }>;
  /** why the file was refused whole (the line when one is to blame), or why the import failed */
  error: { line: number | null; message: string } | null;
}

/** What a refused file's message may say: the CSV reader's own words name a line and quote nothing. */
function refusal(err: unknown): ImportJob["error"] {
  if (err instanceof CsvFileError) {
    const line = /line (\d+)/.exec(err.message)?.[1];
    return { line: line === undefined ? null : Number(line), message: err.message };
  }
  // A header the reader does not know: its message would quote the first line, which may be a record. Not here.
  if (err instanceof Error && /CSV column|CSV header/.test(err.message)) {
    return {
      line: 1,
      message: "The first line is not a header of known columns: phone,name,idcard[,isp][,status][,line_status][,network_since].",
    };
  }
  return null;
}

/** A job as another instance stored it, narrowed; undefined when it is not one. */
function storedJob(text: string | undefined): ImportJob | undefined {
  let value: unknown;
  try {
    value = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(value)) return undefined;
  const { id, state, error, rejections } = value;
  const counts = ["bytesRead", "bytesTotal", "read", "imported", "replaced", "rejected"] as const;
  const numbers = counts.map((name) => value[name]);
  if (typeof id !== "string" || !["running", "done", "refused", "failed"].includes(String(state))) return undefined;
  if (!numbers.every((n): n is number => typeof n === "number")) return undefined;
  const shownError =
    isJsonObject(error) && typeof error.message === "string" && (typeof error.line === "number" || error.line === null)
      ? { line: error.line, message: error.message }
      : null;
  const shownRejections = (Array.isArray(rejections) ? rejections : []).flatMap((r: unknown) =>
    isJsonObject(r) && typeof r.line === "number" && typeof r.reason === "string" ? [{ line: r.line, reason: r.reason }] : [],
  );
  const [bytesRead = 0, bytesTotal = 0, read = 0, imported = 0, replaced = 0, rejected = 0] = numbers;
  return {
    id,
    state: state === "running" || state === "done" || state === "refused" ? state : "failed",
    bytesRead,
    bytesTotal,
    read,
    imported,
    replaced,
    rejected,
    rejections: shownRejections,
    error: shownError,
  };
}

/**
 * The jobs this process runs, and those of other instances (or `--workers` processes) as they stored them: a browser
 * behind a load balancer may ask another instance than the one that took its file.
 */
export class RecordImports {
  private readonly jobs = new Map<string, ImportJob>();
  /** a job is receiving or importing its file: this process takes one at a time (loads on one store queue anyway) */
  private busy = false;
  /** the upload being received, and the import running with its files' removal: what close() stops and waits for */
  private upload: IncomingMessage | undefined;
  private receiving: Promise<void> | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly meta: MetaRows,
    private readonly records: Pick<RecordRows, "load">,
    private readonly keyring: Keyring,
    private readonly rules: Omit<ImportOptions, "todayChina" | "onProgress">,
    private readonly clock: () => number,
  ) {}

  async get(id: string): Promise<ImportJob | undefined> {
    return this.jobs.get(id) ?? storedJob(await this.meta.get(metaKey(id)));
  }

  private publish(job: ImportJob): Promise<void> {
    return this.meta.set(metaKey(job.id), JSON.stringify(job));
  }

  /** Spools the request's body, then starts the import; the job as it starts. */
  async start(req: IncomingMessage): Promise<ImportJob> {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > MAX_IMPORT_BYTES) throw tooLarge();
    if (this.stopping.signal.aborted) throw new OperationError(409, "The server is stopping: send the file again to another.");
    if (this.busy) throw new OperationError(409, IMPORT_RUNNING);
    this.busy = true;
    const received = this.receive(req);
    this.receiving = received.then(
      () => undefined,
      () => undefined,
    );
    return received;
  }

  private async receive(req: IncomingMessage): Promise<ImportJob> {
    const dir = await makeSpoolDir().catch((err: unknown) => {
      this.busy = false;
      throw err;
    });
    const ndjson = /ndjson|jsonl/.test(String(req.headers["content-type"] ?? ""));
    const file = path.join(dir, ndjson ? "records.ndjson" : "records.csv");
    const removeAll = () => fs.promises.rm(dir, { recursive: true, force: true });
    try {
      let size = 0;
      const capped = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          done(size > MAX_IMPORT_BYTES ? tooLarge() : null, chunk);
        },
      });
      this.upload = req;
      await pipeline(req, capped, fs.createWriteStream(file, { mode: 0o600, flags: "wx" }));
      this.upload = undefined;
      const job: ImportJob = {
        id: `imp-${randomBytes(6).toString("hex")}`,
        state: "running",
        bytesRead: 0,
        bytesTotal: size,
        read: 0,
        imported: 0,
        replaced: 0,
        rejected: 0,
        rejections: [],
        error: null,
      };
      this.keep(job);
      await this.publish(job);
      await this.index(job.id);
      const running: Promise<void> = this.run(job, file)
        .then(() => {
          // the job's outcome is told from now on: the next file may come (before its store row and files' removal)
          this.busy = false;
          return this.publish(job);
        })
        .catch(() => undefined) // the store away: this instance still answers for the job
        .finally(() => removeAll())
        .finally(() => this.running.delete(running));
      this.running.add(running);
      return job;
    } catch (err) {
      this.upload = undefined;
      this.busy = false;
      await removeAll();
      throw err;
    }
  }

  /** Stops the upload being received and the import running (nothing of it applied), and waits for its files' removal. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.upload?.destroy();
    await this.receiving;
    await Promise.all(this.running);
  }

  /** Adds a job to the stored index, and deletes the stored jobs beyond STORED_JOBS, oldest first. */
  private async index(id: string): Promise<void> {
    let ids: unknown;
    try {
      ids = JSON.parse((await this.meta.get(JOB_INDEX_KEY)) ?? "[]");
    } catch {
      ids = [];
    }
    const kept = [...(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && x !== id) : []), id];
    const dropped = kept.splice(0, Math.max(0, kept.length - STORED_JOBS));
    await this.meta.set(JOB_INDEX_KEY, JSON.stringify(kept));
    for (const old of dropped) await this.meta.remove(metaKey(old));
  }

  /** Never rejects: a failure is the job's outcome. */
  private async run(job: ImportJob, file: string): Promise<void> {
    let publishedAt = this.clock();
    try {
      const summary = await importRecordsFile(file, this.records, this.keyring, {
        ...this.rules,
        todayChina: chinaDate(this.clock()),
        signal: this.stopping.signal,
        onProgress: (bytes) => {
          job.bytesRead = bytes;
          if (this.clock() - publishedAt < PUBLISH_EVERY_MS) return;
          publishedAt = this.clock();
          this.publish(job).catch(() => undefined);
        },
      });
      Object.assign(job, {
        state: "done",
        bytesRead: job.bytesTotal,
        read: summary.read,
        imported: summary.imported,
        replaced: summary.replaced,
        rejected: summary.rejected,
        rejections: summary.rejections.slice(0, REJECTIONS_SHOWN),
      });
    } catch (err) {
      const refused = refusal(err);
      job.state = refused ? "refused" : "failed";
      job.error = refused ?? {
        line: null,
        message:
          err instanceof LoadOutcomeUnknown
            ? "The database did not acknowledge the import's end, and whether it was applied could not be told. Sending the file again is safe (a number imported again is replaced)."
            : "The import failed before its end; nothing of it was applied. Try again.",
      };
    }
  }

  private keep(job: ImportJob): void {
    this.jobs.set(job.id, job);
    for (const [id, old] of this.jobs) {
      if (this.jobs.size <= JOBS_KEPT) break;
      if (old.state !== "running") this.jobs.delete(id);
    }
  }
}

export const IMPORT_RUNNING =
  "An import is already running on this server: wait for it to end (GET /_sanyao/records/imports/{id}), then send the next file.";
const tooLarge = () => new OperationError(413, `The file is over ${MAX_IMPORT_BYTES / 1024 / 1024} MiB: import it with \`sanyao import\`.`);
