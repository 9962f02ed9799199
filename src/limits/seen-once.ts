/**
 * Members seen once until their own end, by group, in one process (contract.ts SeenOnce): Alibaba's nonces in the
 * embedded mode, kept in the primary process for `serve --workers`. A full group is refused, never given room by
 * forgetting a member that has not ended. Ends are kept in whole seconds (small integers, no heap number each);
 * what has ended is forgotten once per second of the calls' clock. Memory is bounded in two steps: past `shareFrom`
 * members in all, a share (a tenant: the `share` named with the call, else the group itself; for nonces the account,
 * whichever of its keys signs) grows only while it holds less than `shareFrom` divided by the tenants holding
 * members, so a few tenants' floods leave room for the others, and each group stays within its own `cap`; at
 * `totalCap` every group is "full" until some end (a refusal, not a process out of memory). A group counts towards
 * the share it was made with until it empties (a key does not change accounts).
 */
import type { NonceVerdict, SeenOnce } from "./contract";

/** Members held in one process at most, by default: about 135 bytes each (Node 20, x64), some 200 MB in all. */
export const SEEN_IN_PROCESS = 1_500_000;
/** Members in all past which a tenant grows only within its share, by default: half the most. */
export const SHARED_FROM = 750_000;

/** One group's members, each with the second from which it may be forgotten, and the share they count towards. */
interface Group {
  name: string;
  members: Map<string, number>;
  share: Share;
}

/** What one tenant's groups hold in all. */
interface Share {
  name: string;
  held: number;
}

export class MemorySeenOnce implements SeenOnce {
  private readonly groups = new Map<string, Group>();
  /** tenants holding members, by name */
  private readonly shares = new Map<string, Share>();
  /** a second → the members that end then, with their groups (one reference each, not a copy of the name) */
  private readonly ending = new Map<number, { groups: Group[]; members: string[] }>();
  private sweptSecond = Number.NaN;
  /** members held, in every group */
  private total = 0;

  constructor(
    private readonly shareFrom = SHARED_FROM,
    private readonly totalCap = SEEN_IN_PROCESS,
  ) {
    if (shareFrom > totalCap) throw new RangeError("shares start past the bound of all members");
  }

  async firstUse(name: string, member: string, nowMs: number, untilMs: number, cap: number, shareName = name): Promise<NonceVerdict> {
    this.sweep(nowMs);
    let group = this.groups.get(name);
    const until = group?.members.get(member);
    if (until !== undefined && until * 1000 > nowMs) return "replayed";
    // a member that ended and comes again takes its own room back; a new one needs room in its group and the process
    if (until === undefined && !this.roomFor(group, group?.share ?? this.shares.get(shareName), cap)) return "full";
    if (!group) {
      let share = this.shares.get(shareName);
      if (!share) {
        share = { name: shareName, held: 0 };
        this.shares.set(shareName, share);
      }
      group = { name, members: new Map(), share };
      this.groups.set(name, group);
    }
    if (until === undefined) {
      this.total++;
      group.share.held++;
    }
    const ends = Math.ceil(untilMs / 1000);
    group.members.set(member, ends);
    const batch = this.ending.get(ends);
    if (batch) {
      batch.groups.push(group);
      batch.members.push(member);
    } else this.ending.set(ends, { groups: [group], members: [member] });
    return "fresh";
  }

  private roomFor(group: Group | undefined, share: Share | undefined, cap: number): boolean {
    const size = group?.members.size ?? 0;
    if (size >= cap || this.total >= this.totalCap) return false;
    if (this.total < this.shareFrom) return true;
    // Tenants that grew past an equal share keep what they hold and get no more; those below it may reach it.
    // Tenants growing at once stop near `shareFrom` in all; one after another they can reach `totalCap`, the bound.
    const tenants = this.shares.size + (share ? 0 : 1);
    return (share?.held ?? 0) < this.shareFrom / tenants;
  }

  private sweep(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.sweptSecond) return;
    this.sweptSecond = second;
    for (const [ends, batch] of this.ending) {
      if (ends > second) continue;
      batch.members.forEach((member, i) => {
        const group = batch.groups[i];
        // The same member noted again since (after it ended) has its own, later end.
        if (!group || group.members.get(member) !== ends) return;
        group.members.delete(member);
        this.total--;
        group.share.held--;
        if (group.members.size === 0 && this.groups.get(group.name) === group) this.groups.delete(group.name);
        if (group.share.held === 0 && this.shares.get(group.share.name) === group.share) this.shares.delete(group.share.name);
      });
      this.ending.delete(ends);
    }
  }
}
