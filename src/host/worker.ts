/**
 * The piscina task that IS a worker: it receives a MessagePort and its shard's config,
 * opens the shard, reports ready, serves batches of calls until told to close, and only
 * then resolves. Results reached in one event-loop turn go back as one message; read
 * payloads are copied out of the log mapping into one transferred buffer per result.
 *
 * This file is LedgerHost's default task file: its workers serve only the host's calls. An
 * owner that wants more on each worker (the server: a client listener per worker) passes
 * its own task file (HostInternals.workerModule) whose default export calls
 * runShardWorker with hooks and which re-exports checkGroupLog.
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import { GroupShard, type Attachment, type ShardConfig } from './shard.js';
import { packEntries } from './payloads.js';
import { toWireError, type WireError } from '../errors.js';
import type { FromWorker, HostOp, HostRequest, HostResponses, Result, ToWorker } from './protocol.js';
import { checkLogAtStartup } from '../storage/startup-check.js';
import type { DamagedRange } from '../storage/index.js';

export interface WorkerTask {
  port: MessagePort;
  config: ShardConfig;
}

export type { Attachment } from './shard.js';

export interface ShardWorkerHooks {
  /**
   * Runs once the shard is open, before the worker reports ready. A rejection fails the
   * worker's start (the shard is closed first), as a failure to open the shard would.
   */
  onShardOpen?(shard: GroupShard, config: ShardConfig, log: (line: string) => void): Promise<Attachment | undefined>;
}

/** The default task: a worker that serves only the host's calls. */
export default function runWorker(task: WorkerTask): Promise<string> {
  return runShardWorker(task, {});
}

export async function runShardWorker(task: WorkerTask, hooks: ShardWorkerHooks): Promise<string> {
  const { port, config } = task;
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const log = (line: string): void => post({ kind: 'log', line });
  let shard: GroupShard;
  try {
    shard = await GroupShard.open(config, log);
  } catch (error) {
    // The task's rejection loses the error's code on its way to the host: send it first.
    post({ kind: 'openFailed', err: toWireError(error) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    throw error;
  }
  let attachment: Attachment | undefined;
  if (hooks.onShardOpen !== undefined) {
    try {
      attachment = await hooks.onShardOpen(shard, config, log);
    } catch (error) {
      await shard.close();
      throw error;
    }
    if (attachment !== undefined) shard.attach(attachment);
  }

  let results: Result[] = [];
  let transfer: ArrayBuffer[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (results.length === 0) return;
    const out = results;
    const moved = transfer;
    results = [];
    transfer = [];
    post({ kind: 'results', results: out }, moved);
  };
  const settle = (result: Result): void => {
    results.push(result);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const serve = <K extends HostOp>(id: number, req: HostRequest<K>): void => {
    let pending: Promise<HostResponses[K]>;
    try {
      pending = shard.handle(req);
    } catch (error) {
      settle({ id, err: toWireError(error) });
      return;
    }
    pending.then(
      (value) => {
        const pack: Packer<K> = PACK[req.op];
        settle({ id, ok: pack(value, transfer) });
      },
      (error: unknown) => settle({ id, err: toWireError(error) }),
    );
  };

  return new Promise<string>((resolve) => {
    port.on('message', (message: ToWorker) => {
      switch (message.kind) {
        case 'batch':
          for (const call of message.calls) serve(call.id, call.req);
          return;
        case 'close':
          void (attachment?.close() ?? Promise.resolve()).then(() => shard.close()).then(() => {
            flush();
            port.close();
            resolve(`worker ${config.worker} closed`);
          });
          return;
        case 'crash':
          if (message.how === 'exit') process.exit(1);
          setImmediate(() => {
            throw new Error(`worker ${config.worker} crashed on request (test hook)`);
          });
          return;
      }
    });
    post({ kind: 'ready', threadId, groups: shard.groups });
  });
}

type Packer<K extends HostOp> = (value: HostResponses[K], transfer: ArrayBuffer[]) => HostResponses[K];

const same = <T>(value: T): T => value;

/** Read payloads are views of the log's mapping: copy them into one transferred buffer per result. */
const PACK: { [K in HostOp]: Packer<K> } = {
  append: same,
  read: (entry, transfer) => (entry === null ? null : packEntries([entry], transfer)[0]!),
  readRange: (entries, transfer) => packEntries(entries, transfer),
  status: same,
  commitPosition: same,
  statusAll: same,
  transferLeadership: same,
  addGroup: same,
  removeGroup: same,
  members: same,
  changeMembers: same,
  reloadPrepare: same,
  reloadCommit: same,
  reloadAbort: same,
  attachmentStats: same,
};

export interface CheckTask {
  /** The group's log directory. */
  dir: string;
  repair: boolean;
}

export interface CheckResult {
  threadId: number;
  lines: string[];
  /** Set when the log is damaged (and not repaired) or could not be checked. */
  error?: WireError;
  /** Damaged records the replica repairs from peers when it opens (issue 16). */
  damaged?: DamagedRange[];
}

/**
 * A short task (piscina `name: 'checkGroupLog'`), run before the long-lived shard tasks
 * start: the startup check of one group's log on this worker thread. Never throws: errors
 * travel as WireError so that the main thread rebuilds them with their code.
 */
export async function checkGroupLog(task: CheckTask): Promise<CheckResult> {
  const lines: string[] = [];
  try {
    const damaged = await checkLogAtStartup(task.dir, task.repair, (line) => lines.push(line));
    return { threadId, lines, ...(damaged !== undefined ? { damaged } : {}) };
  } catch (error) {
    return { threadId, lines, error: toWireError(error) };
  }
}
