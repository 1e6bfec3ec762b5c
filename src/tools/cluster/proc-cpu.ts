/**
 * CPU time of processes from /proc/<pid>/stat (Linux): user + system, all threads, in
 * microseconds. Used to report the CPU an append costs across every process of a
 * benchmark (the servers and the load generator) and each process's share of it.
 */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ; 100 on every Linux architecture Node supports

/** User and system (kernel) CPU microseconds used so far by process pid (all threads), or undefined. */
export function processCpuTimes(pid: number): { userUs: number; systemUs: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name (which may hold spaces): state is field 3,
  // utime field 14, stime field 15 (proc(5)).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { userUs: (utime * 1e6) / CLOCK_TICKS_PER_SECOND, systemUs: (stime * 1e6) / CLOCK_TICKS_PER_SECOND };
}

export interface CpuReport {
  /** CPU microseconds per acknowledged append, all processes together. */
  usPerAppend: number;
  /** CPU cores used on average during the window, all processes together. */
  cores: number;
  /** Each process's share of the total (0..1), by name. */
  shares: Record<string, number>;
  /** Each process's CPU microseconds per append, by name. */
  usPerAppendByProcess: Record<string, number>;
  /**
   * The kernel's part (system time: syscalls, loopback TCP, page faults) of all processes'
   * CPU together (0..1): the part no change to the JavaScript of a hop reaches directly.
   */
  systemShare: number;
}

/** Start measuring the named processes; stop() reports over the window. Processes that vanish count as 0. */
export function measureCpu(processes: Record<string, number>): { stop(appends: number, seconds: number): CpuReport } {
  const start = new Map(Object.entries(processes).map(([name, pid]) => [name, processCpuTimes(pid)]));
  return {
    stop(appends, seconds) {
      const used: Record<string, number> = {};
      let total = 0;
      let system = 0;
      for (const [name, pid] of Object.entries(processes)) {
        const before = start.get(name);
        const after = processCpuTimes(pid);
        const us = before === undefined || after === undefined ? 0 : Math.max(0, after.userUs + after.systemUs - before.userUs - before.systemUs);
        used[name] = us;
        total += us;
        if (before !== undefined && after !== undefined) system += Math.max(0, after.systemUs - before.systemUs);
      }
      const per = (us: number): number => Number((us / Math.max(appends, 1)).toFixed(2));
      return {
        usPerAppend: per(total),
        cores: Number((total / 1e6 / Math.max(seconds, 1e-3)).toFixed(2)),
        shares: Object.fromEntries(Object.entries(used).map(([n, us]) => [n, Number((us / Math.max(total, 1)).toFixed(3))])),
        usPerAppendByProcess: Object.fromEntries(Object.entries(used).map(([n, us]) => [n, per(us)])),
        systemShare: Number((system / Math.max(total, 1)).toFixed(3)),
      };
    },
  };
}
