/**
 * Issue 11 item 1, in one process and across processes/threads: the data directory lock
 * (src/storage/dir-lock.ts over the addon's lockFile/unlockFile).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ledger, SegmentedLog, isRaftLedgerError } from '../../src/index.js';
import { DirLock, DirLockedError, LOCK_FILE } from '../../src/storage/dir-lock.js';
import { native } from '../../src/storage/native.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-dirlock-');
const DIST_DIR_LOCK = new URL('../../dist/storage/dir-lock.js', import.meta.url).href;
const SEG = 64 * 1024;

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    return isRaftLedgerError(error) ? error.code : `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'no error';
}

/** A child process that takes the lock on `dir`, says so, and waits to be killed. */
function childHolding(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const code = `const { DirLock } = await import(${JSON.stringify(DIST_DIR_LOCK)}); DirLock.acquire(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the child did not lock in time'));
    }, 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('locked')) return;
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error('the child exited before it locked')));
  });
}

/** What DirLock.acquire(dir) throws (undefined if it takes the lock). */
function acquireError(dir: string): unknown {
  try {
    DirLock.acquire(dir);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('DirLock', () => {
  it('is exclusive within one process (flock belongs to the open file description); release is idempotent', () => {
    const dir = join(tempDir(), 'node');
    const lock = DirLock.acquire(dir); // creates the directory
    expect(lock.held).toBe(true);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`pid ${process.pid}\n`);
    const error = acquireError(dir);
    expect(error).toBeInstanceOf(DirLockedError);
    const locked = error as DirLockedError;
    expect(locked.code).toBe('ERR_DIR_LOCKED');
    expect(locked.holderPid).toBe(process.pid);
    expect(locked.path).toBe(dir);
    expect(locked.message).toContain(dir);
    expect(locked.message).toContain(`in this process (pid ${process.pid})`);
    lock.release();
    lock.release();
    expect(lock.held).toBe(false);
    const again = DirLock.acquire(dir);
    again.release();
  });

  it('refuses while another process holds it, naming its pid; the kernel releases it when that process is SIGKILLed', async () => {
    const dir = tempDir();
    const child = await childHolding(dir);
    try {
      const error = acquireError(dir);
      expect(error).toBeInstanceOf(DirLockedError);
      expect((error as DirLockedError).holderPid).toBe(child.pid);
      expect((error as Error).message).toContain(`another process (pid ${child.pid})`);
    } finally {
      await child.kill();
    }
    // The LOCK file still names the dead process; the lock itself is gone.
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`pid ${child.pid}\n`);
    const lock = DirLock.acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`pid ${process.pid}\n`);
    lock.release();
  });

  it('is not inherited by child processes (O_CLOEXEC)', async () => {
    const dir = tempDir();
    const lock = DirLock.acquire(dir);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise((r) => child.once('spawn', r));
      lock.release();
      // Had the child inherited the descriptor, the lock would still be held through it.
      const again = DirLock.acquire(dir);
      again.release();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('a worker thread that exits without releasing does not keep the directory locked', async () => {
    const dir = tempDir();
    const code = `import(${JSON.stringify(DIST_DIR_LOCK)}).then(({ DirLock }) => { DirLock.acquire(${JSON.stringify(dir)}); require('node:worker_threads').parentPort.postMessage('locked'); setInterval(() => {}, 1000); });`;
    const worker = new Worker(code, { eval: true });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    expect(await codeOf(() => DirLock.acquire(dir))).toBe('ERR_DIR_LOCKED');
    await worker.terminate();
    const lock = DirLock.acquire(dir);
    lock.release();
  });

  it('unlockFile refuses a descriptor that is not one of its locks', () => {
    expect(() => native.unlockFile(1)).toThrow(RangeError);
    expect(() => native.unlockFile('3' as unknown as number)).toThrow(TypeError);
  });
});

describe('SegmentedLog and Ledger take the lock', () => {
  it('a second writable SegmentedLog.open of one directory is refused until the first closes; read-only opens work beside it', async () => {
    const dir = tempDir();
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    log.append([Buffer.from('a')], 1);
    await log.flush();
    expect(await codeOf(() => SegmentedLog.open({ dir }))).toBe('ERR_DIR_LOCKED');
    const reader = await SegmentedLog.open({ dir, readOnly: true });
    expect(reader.lastIndex).toBe(1);
    await reader.close();
    await log.close();
    await log.close();
    const again = await SegmentedLog.open({ dir });
    expect(again.lastIndex).toBe(1);
    await again.close();
  });

  it('a failed open releases the lock it took', async () => {
    const dir = tempDir();
    await (await SegmentedLog.open({ dir, segmentSizeBytes: SEG })).close();
    expect(await codeOf(() => SegmentedLog.open({ dir, segmentSizeBytes: 2 * SEG }))).toBe('ERR_BAD_CONFIG');
    const again = await SegmentedLog.open({ dir });
    await again.close();
  });

  it('a LOCK file left in a new log directory does not make it foreign; a foreign directory gets no LOCK file', async () => {
    const dir = tempDir();
    DirLock.acquire(dir).release(); // as after a crash before the identity file landed
    const log = await SegmentedLog.open({ dir, segmentSizeBytes: SEG });
    await log.close();
    const foreign = tempDir();
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    expect(await codeOf(() => SegmentedLog.open({ dir: foreign }))).toBe('ERR_FOREIGN_FILE');
    expect(existsSync(join(foreign, LOCK_FILE))).toBe(false);
    const missing = join(tempDir(), 'missing');
    expect(await codeOf(() => SegmentedLog.open({ dir: missing, create: false }))).toBe('ERR_NOT_A_LOG');
    expect(existsSync(missing)).toBe(false);
  });

  it('two Ledger.open on the same directory in one process: the second is refused', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const options = { dir, id: 'n0', members: ['n0'], link: { send: () => {} }, segmentSizeBytes: SEG, tickMs: 5 };
    const first = await Ledger.open(options);
    try {
      expect(await codeOf(() => Ledger.open(options))).toBe('ERR_DIR_LOCKED');
    } finally {
      await first.close();
    }
    const second = await Ledger.open(options);
    await second.close();
  });
});
