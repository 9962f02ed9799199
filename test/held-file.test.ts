/**
 * HeldFile (sources/held-file.ts), how imports, seeds and `sanyao batch` read a file more than once: every read is of
 * the file first looked at, whatever happens to its name, and a write in place is told apart.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { FileChangedError, HeldFile } from "../src/sources/held-file";
import { tempDir } from "./helpers/server";

const dir = tempDir();
let n = 0;
function file(content: string): string {
  const f = path.join(dir, `held-${++n}.csv`);
  fs.writeFileSync(f, content);
  return f;
}

async function text(stream: fs.ReadStream): Promise<string> {
  let out = "";
  for await (const chunk of stream as AsyncIterable<Buffer>) out += chunk.toString("utf8");
  return out;
}

describe("a held file", () => {
  it("reads whole however many streams read it, one after another or at once; a stream destroyed leaves it held", async () => {
    const content = "phone,name,idcard\n".repeat(5000);
    const held = HeldFile.open(file(content));
    try {
      const first = held.stream(1024);
      first.destroy();
      await new Promise<void>((resolve) => first.once("close", () => resolve()));
      assert.deepEqual(await Promise.all([text(held.stream(1000)), text(held.stream(4096))]), [content, content]);
      assert.equal(await text(held.stream()), content);
      assert.equal(held.head(5).toString(), "phone");
      assert.equal(held.size, Buffer.byteLength(content));
    } finally {
      await held.close();
    }
  });

  it("is read as it was looked at after its name is renamed over or removed", async () => {
    const renamed = file("the first\n");
    const held = HeldFile.open(renamed);
    const removed = file("the second\n");
    const alsoHeld = HeldFile.open(removed);
    try {
      fs.renameSync(file("another\n"), renamed);
      fs.rmSync(removed);
      assert.equal(await text(held.stream()), "the first\n");
      assert.equal(await text(alsoHeld.stream()), "the second\n");
      held.assertUnchanged();
      alsoHeld.assertUnchanged();
    } finally {
      await held.close();
      await alsoHeld.close();
    }
  });

  it("tells a write in place apart, naming what follows from it", async () => {
    const f = file("phone,name,idcard\n");
    const held = HeldFile.open(f);
    try {
      fs.appendFileSync(f, "13800001234,x,y\n");
      assert.throws(
        () => held.assertUnchanged("so nothing of it was applied"),
        (err: unknown) => {
          assert.ok(err instanceof FileChangedError);
          assert.equal(err.message, "the file changed while it was being read, so nothing of it was applied");
          return true;
        },
      );
    } finally {
      await held.close();
    }
  });

  it("closes once, after the streams still reading it; then refuses to be read", async () => {
    const held = HeldFile.open(file("x".repeat(1 << 20)));
    const reading = held.stream(1024);
    reading.resume();
    const closing = held.close();
    await closing;
    assert.equal(reading.destroyed, true);
    await held.close();
    assert.throws(() => held.stream(), /the file is closed/);
    assert.throws(() => held.head(1), /the file is closed/);
  });

  it("is only a regular file: a directory or a FIFO is refused, the FIFO without waiting for a writer", () => {
    assert.throws(() => HeldFile.open(dir), /is not a regular file/);
    const fifo = path.join(dir, "fifo.csv");
    execFileSync("mkfifo", [fifo]);
    assert.throws(() => HeldFile.open(fifo), /is not a regular file/);
    assert.throws(() => HeldFile.open(path.join(dir, "none.csv")), { code: "ENOENT" });
  });
});
