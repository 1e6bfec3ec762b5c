/**
 * The simulator's safety checks, run after every event: election safety, log
 * matching, committed entries never lost or changed, monotone commit indexes,
 * and the leader's view of its followers. The cluster's committed log, as
 * observed so far, is kept here.
 */
import type { RaftCore } from '../../raft/raft.js';
import { EntryType, type Entry, type NodeId } from '../../raft/types.js';
import type { DriverNode } from './driver.js';

export class Violation extends Error {}

/** A node as the checks see it: its driver plus the commit index last checked. */
export type CheckedNode = DriverNode & { lastCommit: number };

/** Identity of an entry for comparisons: the proposal id, or -term for a no-op. */
export function entryKey(e: Entry): number {
  if (e.type === EntryType.Noop || e.data.byteLength < 4) return -e.term;
  if (e.type === EntryType.Config) {
    // FNV-1a of the body with the top bit set: never a client proposal id.
    let h = Math.imul(0x811c9dc5 ^ e.index, 0x01000193) >>> 0; // identical bodies at two indexes are two entries
    for (let i = 0; i < e.data.byteLength; i++) h = Math.imul(h ^ (e.data[i] as number), 0x01000193) >>> 0;
    return (h | 0x80000000) >>> 0;
  }
  const d = e.data;
  return ((d[0] as number) | ((d[1] as number) << 8) | ((d[2] as number) << 16) | ((d[3] as number) << 24)) >>> 0;
}

export class Invariants {
  /** The cluster's committed log so far: key and term per index (index 0 is a placeholder). */
  readonly committedKey: number[] = [0];
  readonly committedTerm: number[] = [0];
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly seenKey = new Map<number, Map<number, number>>();
  /** Highest match each leader (per term) has shown for each follower: "leader/term/follower" -> match. */
  private readonly leaderMatch = new Map<string, number>();

  constructor(private readonly nodes: readonly CheckedNode[]) {}

  fail(msg: string): never {
    throw new Violation(msg);
  }

  /** Election safety: at most one leader per term. */
  leader(term: number, id: NodeId): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) this.fail(`election safety: ${prev} and ${id} both leader in term ${term}`);
    this.leaderOfTerm.set(term, id);
  }

  /** Log matching, cheap form: an (index, term) pair always names the same entry. */
  newEntries(node: CheckedNode, ents: readonly Entry[]): void {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      let byTerm = this.seenKey.get(e.index);
      if (byTerm === undefined) {
        byTerm = new Map();
        this.seenKey.set(e.index, byTerm);
      }
      const key = entryKey(e);
      const prev = byTerm.get(e.term);
      if (prev === undefined) byTerm.set(e.term, key);
      else if (prev !== key) {
        this.fail(`log matching: ${node.id} writes ${e.index}/t${e.term} key=${key} but another node has key=${prev}`);
      }
    }
  }

  /** Commit index monotone; every newly committed entry equals the cluster's committed entry. */
  commit(node: CheckedNode): void {
    const c = node.core;
    if (c === null) return;
    const ci = c.commitIndex;
    if (ci < node.lastCommit) this.fail(`${node.id} commit index went back from ${node.lastCommit} to ${ci}`);
    if (ci > node.lastCommit) {
      this.committedPrefix(node, node.lastCommit + 1, ci);
      node.lastCommit = ci;
    }
  }

  committedPrefix(node: CheckedNode, from: number, to: number): void {
    if (to < from) return;
    const c = node.core as RaftCore;
    const lo = Math.max(from, c.firstIndex);
    const ents = c.entries(lo, to + 1);
    if (ents === null) return;
    for (const e of ents) {
      const i = e.index;
      const key = entryKey(e);
      if (i < this.committedKey.length) {
        if (this.committedKey[i] !== key || this.committedTerm[i] !== e.term) {
          this.fail(
            `committed entry changed: ${node.id} has ${i}/t${e.term} key=${key} committed, cluster committed ${this.committedKey[i]}/t${this.committedTerm[i]}`,
          );
        }
      } else if (i === this.committedKey.length) {
        this.committedKey.push(key);
        this.committedTerm.push(e.term);
      } else {
        this.fail(`commit gap: ${node.id} commits ${i} but cluster committed only ${this.committedKey.length - 1}`);
      }
    }
  }

  /** Full log matching between every pair of live nodes. */
  logMatching(): void {
    const logs: { id: NodeId; first: number; ents: Entry[] }[] = [];
    for (const n of this.nodes) {
      if (!n.up || n.core === null) continue;
      const c = n.core;
      logs.push({ id: n.id, first: c.firstIndex, ents: c.entries(c.firstIndex, c.lastIndex + 1) ?? [] });
    }
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const A = logs[a]!;
        const B = logs[b]!;
        const hi = Math.min(A.first + A.ents.length - 1, B.first + B.ents.length - 1);
        const lo = Math.max(A.first, B.first);
        let i = hi;
        while (i >= lo && A.ents[i - A.first]!.term !== B.ents[i - B.first]!.term) i--;
        for (let j = i; j >= lo; j--) {
          const ea = A.ents[j - A.first]!;
          const eb = B.ents[j - B.first]!;
          if (ea.term !== eb.term || entryKey(ea) !== entryKey(eb)) {
            this.fail(
              `log matching: ${A.id} and ${B.id} agree at ${i}/t${A.ents[i - A.first]!.term} but differ at ${j} (${entryKey(ea)}/t${ea.term} vs ${entryKey(eb)}/t${eb.term})`,
            );
          }
        }
      }
    }
  }

  /**
   * The leader's view of each follower: the simulated disks never lose an
   * acknowledged entry, so within a leader's term its match for a follower
   * never goes back (a stale rejection must not lower it), and a confirmed
   * match of a follower in the leader's term is durable on that follower.
   */
  leaderView(node: CheckedNode): void {
    const c = node.core;
    if (c === null || c.role !== 'leader') return;
    const progress = c.status().progress;
    for (const f of this.nodes) {
      const p = progress[f.id];
      const key = `${node.id}/${c.term}/${f.id}`;
      if (p === undefined) {
        this.leaderMatch.delete(key); // left the configuration: a new member later starts from 0
        continue;
      }
      const prev = this.leaderMatch.get(key) ?? 0;
      if (p.match < prev) {
        this.fail(`${node.id} (leader t${c.term}) lowered its match for ${f.id} from ${prev} to ${p.match}, though ${f.id} lost nothing`);
      }
      this.leaderMatch.set(key, p.match);
      if (p.verifying || p.match === 0 || f.core === null || f.core.term !== c.term) continue;
      const t = f.durable.term(p.match);
      const lt = c.termAt(p.match); // undefined once the leader compacted past it
      if (t !== undefined && lt !== undefined && t !== lt) {
        this.fail(`${node.id} (leader t${c.term}) has match ${p.match} for ${f.id}, whose durable entry there has term ${t}`);
      }
      if (p.match > f.durable.lastIndex()) {
        this.fail(`${node.id} (leader t${c.term}) has match ${p.match} for ${f.id}, whose durable log ends at ${f.durable.lastIndex()}`);
      }
    }
  }

  /** At the end: full log matching, every acknowledged proposal committed exactly once, every committed prefix the cluster's. */
  final(acked: ReadonlyMap<number, number>): void {
    this.logMatching();
    // Every acknowledged proposal is committed, exactly once.
    const count = new Map<number, number>();
    for (let i = 1; i < this.committedKey.length; i++) {
      const k = this.committedKey[i] as number;
      if (k > 0) count.set(k, (count.get(k) ?? 0) + 1);
    }
    for (const [k, c] of count) if (c > 1) this.fail(`proposal ${k} committed ${c} times`);
    for (const [id, idx] of acked) {
      if (this.committedKey[idx] !== id) this.fail(`acknowledged proposal ${id} at ${idx} is not committed there`);
    }
    // Every up node's committed prefix is the cluster's.
    for (const n of this.nodes) if (n.up && n.core) this.committedPrefix(n, 1, n.core.commitIndex);
  }
}
