/**
 * The simulator's node, its events, and what the event handlers outside
 * simulator.ts (crashes.ts, faults.ts) may see and do of a running simulation.
 * Every random draw they make comes from the generator the context names, in
 * the order the handler makes it, so a seed replays exactly.
 */
import type { Rng } from '../../raft/prng.js';
import type { Message, NodeId } from '../../raft/types.js';
import type { SimDamage } from './damage-events.js';
import { DriverNode } from './driver.js';
import type { SimNetwork } from './network.js';

export interface Proposal {
  id: number;
  at: number;
}

/** A driver node plus what the simulator tracks about it. */
export class SimNode extends DriverNode {
  flushScheduled = false;
  lastCommit = 0;
  proposals = new Map<number, Proposal>();
  /** The configuration persisted with the last log reset (LogReset.conf). */
  savedConf: Uint8Array | undefined;
}

export type SimEvent =
  | { k: 'tick'; node: number; inc: number }
  | { k: 'deliver'; m: Message }
  | { k: 'flush'; node: number; inc: number }
  | { k: 'client' }
  | { k: 'fault' }
  | { k: 'restart'; node: number }
  | { k: 'crash'; node: number; restartIn: number }
  | { k: 'heal' }
  | { k: 'compact' }
  | { k: 'damage' }
  | { k: 'repair'; node: number; inc: number }
  | { k: 'member' }
  | { k: 'end' };

export interface SimStats {
  events: number;
  proposed: number;
  refused: number;
  elections: number;
  crashes: number;
  transfers: number;
  resets: number;
  confChanges: number;
}

/** The running simulation as its fault and crash handlers see it. */
export interface SimContext {
  /** The bootstrap voters (n1..nN); the membership spare, if any, comes after them in `ids`. */
  readonly n: number;
  readonly ids: readonly NodeId[];
  readonly nodes: readonly SimNode[];
  readonly net: SimNetwork;
  readonly stats: SimStats;
  readonly dmg: SimDamage | undefined;
  /** Draws of the disk model (flush timing, what a crash keeps). */
  readonly diskRng: Rng;
  /** Draws of the fault schedule. */
  readonly faultRng: Rng;
  /** Draws of the crashes aimed at a term or vote not yet durable. */
  readonly crashRng: Rng;
  /** Virtual time, ms. */
  readonly now: number;
  /** The fault phase is over. */
  readonly healed: boolean;
  /** Upper bound of a flush's delay, ms. */
  flushMax: number;
  push(timeMs: number, ev: SimEvent): void;
  trace(line: string): void;
  startNode(i: number): void;
  drain(node: SimNode): void;
  leaderNode(): SimNode | undefined;
  /** A node started an election before its timer (reads.ts: lease reads until then are not checked). */
  campaignedEarly(): void;
}
