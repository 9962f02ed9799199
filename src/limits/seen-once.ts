/**
 * Members seen once until their own end, by group, in one process (contract.ts SeenOnce): Alibaba's nonces in the
 * embedded mode, kept in the primary process for `serve --workers`. A full group is refused, never given room by
 * forgetting a member that has not ended. Ends are kept in whole seconds (small integers, no heap number each);
 * what has ended is forgotten once per second of the calls' clock. Memory is bounded in two steps: past `shareFrom`
 * members in all, a group may grow only while it holds less than an equal share of that number, so a few groups'
 * floods leave room for the others (shares are per group: per AccessKeyId for nonces); at `totalCap` every group is
 * "full" until some end (a refusal, not a process out of memory).
 */
import type { NonceVerdict, SeenOnce } from "./contract";

/** Members held in one process at most, by default: about 135 bytes each (Node 20, x64), some 200 MB in all. */
export const SEEN_IN_PROCESS = 1_500_000;
/** Members in all past which a group grows only within its share, by default: half the most. */
export const SHARED_FROM = 750_000;

/** One group's members, each with the second from which it may be forgotten. */
interface Group {
  name: string;
  members: Map<string, number>;
}

export class MemorySeenOnce implements SeenOnce {
  private readonly groups = new Map<string, Group>();
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

  async firstUse(name: string, member: string, nowMs: number, untilMs: number, cap: number): Promise<NonceVerdict> {
    this.sweep(nowMs);
    let group = this.groups.get(name);
    const until = group?.members.get(member);
    if (until !== undefined && until * 1000 > nowMs) return "replayed";
    // a member that ended and comes again takes its own room back; a new one needs room in its group and the process
    if (until === undefined && !this.roomFor(group, cap)) return "full";
    if (!group) {
      group = { name, members: new Map() };
      this.groups.set(name, group);
    }
    if (until === undefined) this.total++;
    const ends = Math.ceil(untilMs / 1000);
    group.members.set(member, ends);
    const batch = this.ending.get(ends);
    if (batch) {
      batch.groups.push(group);
      batch.members.push(member);
    } else this.ending.set(ends, { groups: [group], members: [member] });
    return "fresh";
  }

  private roomFor(group: Group | undefined, cap: number): boolean {
    const size = group?.members.size ?? 0;
    if (size >= cap || this.total >= this.totalCap) return false;
    if (this.total < this.shareFrom) return true;
    // Groups that grew past an equal share keep what they hold and get no more; those below it may reach it. Groups
    // growing at once stop near `shareFrom` in all; one after another they can reach `totalCap` (six at the
    // defaults, each at its own cap or share), which is the bound.
    const groups = this.groups.size + (group ? 0 : 1);
    return size < this.shareFrom / groups;
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
        if (group.members.size === 0 && this.groups.get(group.name) === group) this.groups.delete(group.name);
      });
      this.ending.delete(ends);
    }
  }
}
