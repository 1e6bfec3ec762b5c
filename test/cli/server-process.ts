/** One `raftledger server` child process for the data-directory tests: start it, wait until it is ready or has exited, stop it. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { reserveNodePorts } from '../../dist/tools/cluster/ports.js';

export const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Started {
  child: ChildProcess;
  pid: number;
  client: string;
  /** Everything the server printed on stderr so far. */
  stderr(): string;
  /** Everything the server printed on stdout so far (its JSON log lines and the ready line). */
  stdout(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export type Outcome = { ready: true; server: Started } | { ready: false; code: number | null; stderr: string };

/** Free Raft and client ports for `count` single-node servers with `workers` workers each (never shared between them). */
export async function freePorts(count: number, workers = 0): Promise<Array<{ raftPort: number; clientPort: number }>> {
  const ids = Array.from({ length: count }, (_, i) => `s${i}`);
  const ports = await reserveNodePorts(ids, workers);
  return ids.map((id) => ports[id]!);
}

/**
 * Start `raftledger server --id ID --peers ID=127.0.0.1:RAFT/CLIENT --dir DIR` (one-node cluster,
 * fast ticks) and resolve once it printed its ready line or exited, whichever comes first.
 */
export function startServer(opts: { id?: string; dir: string; raftPort: number; clientPort: number; extra?: string[]; timeoutMs?: number }): Promise<Outcome> {
  const id = opts.id ?? 'n0';
  const args = [MAIN, 'server', '--id', id, '--peers', `${id}=127.0.0.1:${opts.raftPort}/${opts.clientPort}`, '--dir', opts.dir, '--ready-line', '--tick-ms', '5', '--election-ticks', '10', '--heartbeat-ticks', '2', ...(opts.extra ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    err = (err + chunk).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server: Started = {
    child,
    pid: child.pid!,
    client: `127.0.0.1:${opts.clientPort}`,
    stderr: () => err,
    stdout: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ready: false, code: null, stderr: `timed out waiting for the server: ${err}` });
    }, opts.timeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-20_000);
      if (out.includes('"ready"')) {
        clearTimeout(timer);
        resolve({ ready: true, server });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      // Let the last stderr chunk arrive.
      setImmediate(() => resolve({ ready: false, code, stderr: err }));
    });
  });
}

/** Run a raftledger command to completion. */
export function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
