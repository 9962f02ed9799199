/**
 * Members seen once until their own end, by group, in one process (contract.ts SeenOnce): Alibaba's nonces in the
 * embedded mode, kept in the primary process for `serve --workers`. A full group is refused, never given room by
 * forgetting a member that has not ended. Ends are kept in whole seconds (small integers, no heap number each);
 * what has ended is forgotten once per second of the calls' clock. The process holds at most `totalCap` members in
 * all: past it every group is "full" until some end, so a few groups' floods cost bounded memory (a refusal, not a
 * process out of memory).
 */
import type { NonceVerdict, SeenOnce } from "./contract";

/** Members held in one process at most, by default: about 135 bytes each (Node 20, x64), some 200 MB in all. */
export const SEEN_IN_PROCESS = 1_500_000;

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

  constructor(private readonly totalCap = SEEN_IN_PROCESS) {}

  async firstUse(name: string, member: string, nowMs: number, untilMs: number, cap: number): Promise<NonceVerdict> {
    this.sweep(nowMs);
    let group = this.groups.get(name);
    const until = group?.members.get(member);
    if (until !== undefined && until * 1000 > nowMs) return "replayed";
    // a member that ended and comes again takes its own room back; a new one needs room in its group and the process
    if (until === undefined && ((group?.members.size ?? 0) >= cap || this.total >= this.totalCap)) return "full";
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
