/**
 * GroupCommit (store/group-commit.ts), on its own: both stores hand it their commit. At most one commit is under
 * way; what arrives meanwhile, over any number of event-loop turns, goes in the next one, as soon as it settles.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CommitResult, GroupCommit } from "../src/store/group-commit";

const OK: CommitResult = { failedCharges: [], failedQueued: 0 };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A commit that holds each batch until the test lets it go, and notes what each batch held. */
function heldCommits() {
  const batches: Array<{ charges: string[]; queued: string[] }> = [];
  const releases: Array<(result: CommitResult) => void> = [];
  const commit = (charges: string[], queued: string[]) => {
    batches.push({ charges, queued });
    return new Promise<CommitResult>((resolve) => releases.push(resolve));
  };
  const release = (i: number, result: CommitResult = OK) => {
    const r = releases[i];
    assert.ok(r, `commit ${i} was never started`);
    r(result);
  };
  return { batches, commit, release };
}

describe("group commit", () => {
  it("commits a charge at the next turn, and settles it only once the commit has", async () => {
    const held = heldCommits();
    const writes = new GroupCommit<string, string>(held.commit, () => undefined);
    let settled = false;
    const charged = writes.charge("a").then(() => (settled = true));
    assert.equal(held.batches.length, 0, "nothing is committed in the charge's own turn");
    await turn();
    assert.deepEqual(held.batches, [{ charges: ["a"], queued: [] }]);
    await turn();
    assert.equal(settled, false, "the charge waits for its commit");
    held.release(0);
    await charged;
  });

  it("while a commit is under way, gathers the charges of later turns into one commit that follows it", async () => {
    const held = heldCommits();
    const writes = new GroupCommit<string, string>(held.commit, () => undefined);
    const first = writes.charge("a");
    await turn();
    const later: Array<Promise<void>> = [];
    for (const id of ["b", "c", "d"]) {
      later.push(writes.charge(id));
      await turn();
    }
    writes.queue("audit-1");
    await turn();
    assert.equal(held.batches.length, 1, "no second commit while the first is under way");
    held.release(0);
    await first;
    await turn();
    assert.deepEqual(held.batches[1], { charges: ["b", "c", "d"], queued: ["audit-1"] });
    assert.equal(held.batches.length, 2);
    held.release(1);
    await Promise.all(later);
  });

  it("fails only the charges a follow-up commit could not write", async () => {
    const held = heldCommits();
    const writes = new GroupCommit<string, string>(held.commit, () => undefined);
    const first = writes.charge("a");
    await turn();
    const b = writes.charge("b");
    const c = writes.charge("c");
    held.release(0);
    await first;
    await turn();
    held.release(1, { failedCharges: [1], failedQueued: 0, error: "disk full" });
    await b;
    await assert.rejects(c, /disk full/);
  });

  it("flush waits for the commit under way and for what follows it, leaving nothing behind", async () => {
    const held = heldCommits();
    const writes = new GroupCommit<string, string>(held.commit, () => undefined, 60_000);
    void writes.charge("a");
    await turn();
    writes.queue("audit-1");
    let flushed = false;
    const flushing = writes.flush().then(() => (flushed = true));
    await turn();
    assert.equal(flushed, false);
    held.release(0);
    while (held.batches.length < 2) await turn();
    assert.deepEqual(held.batches[1], { charges: [], queued: ["audit-1"] });
    assert.equal(flushed, false, "flush waits for the follow-up commit too");
    held.release(1);
    await flushing;
    assert.equal(held.batches.length, 2);
  });

  it("commits queued rows on their own after the delay, and after the commit under way when it is due meanwhile", async () => {
    const held = heldCommits();
    const writes = new GroupCommit<string, string>(held.commit, () => undefined, 5);
    writes.queue("audit-1");
    while (held.batches.length < 1) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.deepEqual(held.batches[0], { charges: [], queued: ["audit-1"] });
    writes.queue("audit-2");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(held.batches.length, 1, "the delay passed while the first commit was under way");
    held.release(0);
    while (held.batches.length < 2) await turn();
    assert.deepEqual(held.batches[1], { charges: [], queued: ["audit-2"] });
    held.release(1);
    await writes.flush();
  });
});
