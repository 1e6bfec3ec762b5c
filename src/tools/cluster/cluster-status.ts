/** Helpers to read a cluster's state through the client: who leads, and each replica's indexes. */
import type { Client } from '../../client/index.js';

export interface ReplicaView {
  server: string;
  id?: string;
  role?: string;
  term?: number;
  leader?: string;
  commitIndex?: number;
  lastIndex?: number;
  durableIndex?: number;
  firstIndex?: number;
  firstPos?: number;
  diskBytes?: number;
  noSpace?: boolean;
  followers?: Record<string, { match: number; lag: number; catchUp?: boolean }>;
  /** The configuration in force on that replica (replica/membership.ts MembersView). */
  members?: { voters: Array<{ id: string; lag?: number }>; learners: Array<{ id: string; lag?: number }>; committed?: boolean };
  error?: string;
}

export async function viewCluster(client: Client, group = 0): Promise<ReplicaView[]> {
  const all = await client.statusAll({ group });
  return all.map((r) => {
    if (r.status === undefined) return { server: r.server, error: r.error ?? 'no answer' };
    const s = r.status as Record<string, unknown>;
    return {
      server: r.server,
      id: s.id as string,
      role: s.role as string,
      term: s.term as number,
      leader: s.leader as string,
      commitIndex: s.commitIndex as number,
      lastIndex: s.lastIndex as number,
      durableIndex: s.durableIndex as number,
      firstIndex: s.firstIndex as number,
      firstPos: s.firstPos as number,
      diskBytes: s.diskBytes as number,
      noSpace: s.noSpace as boolean,
      followers: s.followers as Record<string, { match: number; lag: number; catchUp?: boolean }>,
      ...(s.members !== undefined ? { members: s.members as NonNullable<ReplicaView['members']> } : {}),
    };
  });
}

/** The replica that leads in the highest term, if any answered as leader. */
export function leaderOf(views: ReplicaView[]): ReplicaView | undefined {
  return views.filter((v) => v.role === 'leader').sort((a, b) => (b.term ?? 0) - (a.term ?? 0))[0];
}

/** Poll every replica's view (every 20 ms) until `done(views)` holds and return those views; throws `${what} within ${timeoutMs} ms` otherwise. */
export async function waitForViews(client: Client, done: (views: ReplicaView[]) => boolean, timeoutMs: number, what: string, group = 0): Promise<ReplicaView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await viewCluster(client, group).catch(() => []);
    if (done(views)) return views;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function waitForLeader(client: Client, timeoutMs: number, exclude?: string, group = 0): Promise<ReplicaView> {
  const views = await waitForViews(
    client,
    (v) => {
      const leader = leaderOf(v);
      return leader !== undefined && leader.id !== exclude;
    },
    timeoutMs,
    'no leader',
    group,
  );
  return leaderOf(views)!;
}
