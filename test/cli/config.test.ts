/**
 * Issue 11 item 8: nothing an operator types is silently accepted or misread. The config
 * schema (CONFIG_SCHEMA) drives validation, the closest-key suggestion, the server's flags
 * and the README's Configuration table (checked here so they cannot drift).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, closestConfigKey, editDistance, readConfigFile, validateConfig } from '../../src/server/config.js';
import { normalizePeers } from '../../src/replica/peers.js';
import { MAIN } from './processes.js';
import { useTempDirs } from '../support/tmp.js';

const tempDir = useTempDirs('raftledger-config-');
const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const base = { id: 'n0', dir: '/tmp/unused', peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7002' };

function cli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: String(r.stderr) };
}

function configFile(value: unknown): string {
  const path = join(tempDir(), 'config.json');
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('config validation (issue 11, item 8)', () => {
  it('refuses two peers with the same address, naming both', () => {
    expect(() => validateConfig({ ...base, peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7001' })).toThrow(/n0 \(raft\) and n1 \(raft\) have the same address 127\.0\.0\.1:7001/);
    // n1's Raft port is n0's client port (7001 + 100).
    expect(() => validateConfig({ ...base, peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7101' })).toThrow(/same address 127\.0\.0\.1:7101/);
    // With workers the port ranges must not overlap either.
    expect(() => validateConfig({ ...base, workers: 2, peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7002' })).toThrow(/ERR_BAD_CONFIG|share ports/);
    expect(() => validateConfig({ ...base, workers: 2, peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7002' })).toThrow(/nodes n0 and n1 share ports/);
  });

  it('an unknown key is an error naming the closest known key', () => {
    expect(() => validateConfig({ ...base, durabilty: 'memory' })).toThrow("unknown config key 'durabilty': did you mean 'durability' (flag --durability)?");
    expect(() => validateConfig({ ...base, 'segment-size': 4096 })).toThrow("unknown config key 'segment-size': did you mean 'segmentSizeBytes' (flag --segment-size)?");
    expect(() => validateConfig({ ...base, tickms: 5 })).toThrow(/did you mean 'tickMs'/);
    expect(() => validateConfig({ ...base, electionTick: 5 })).toThrow(/did you mean 'electionTicks'/);
    expect(() => validateConfig({ ...base, zzzzzzzz: 1 })).toThrow(/unknown config key 'zzzzzzzz': known keys: id, peers, dir/);
    expect(closestConfigKey('cluster_id')?.key).toBe('clusterId');
    expect(closestConfigKey('worker')?.key).toBe('workers');
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('a null or non-object config, and peers as an array, get a clear message', () => {
    expect(() => validateConfig(null)).toThrow('configuration must be a JSON object, got null');
    expect(() => validateConfig([1])).toThrow('configuration must be a JSON object, got an array');
    expect(() => readConfigFile(configFile('null'))).toThrow(/must hold a JSON object, got null/);
    expect(() => readConfigFile(configFile('[]'))).toThrow(/must hold a JSON object, got an array/);
    expect(() => validateConfig({ ...base, peers: ['127.0.0.1:7001', '127.0.0.1:7002'] })).toThrow(/peers must be an object .* not an array/);
    expect(() => validateConfig({ ...base, peers: null })).toThrow(/peers is required/);
    expect(() => validateConfig({ ...base, groups: '2' })).toThrow('groups must be an integer in [1, 100000], got "2"');
    expect(() => validateConfig({ ...base, durability: 'fsnyc' })).toThrow(`durability must be 'fsync' or 'memory', got "fsnyc"`);
    expect(() => validateConfig({ id: 'n0', peers: base.peers })).toThrow('dir is required (flag --dir)');
  });

  it('every error is ERR_BAD_CONFIG and a valid config keeps its values', () => {
    let caught: unknown;
    try {
      validateConfig({ ...base, durabilty: 'memory' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_BAD_CONFIG' });
    const config = validateConfig({ ...base, durability: 'memory', clusterId: 'c', groups: 3, segmentSizeBytes: 8192, tickMs: 5, heartbeatTicks: 2, electionTicks: 20 });
    expect(config).toEqual({
      id: 'n0',
      dir: '/tmp/unused',
      peers: { n0: { raft: '127.0.0.1:7001', client: '127.0.0.1:7101' }, n1: { raft: '127.0.0.1:7002', client: '127.0.0.1:7102' } },
      durability: 'memory',
      clusterId: 'c',
      groups: 3,
      workers: 0,
      segmentSizeBytes: 8192,
      tickMs: 5,
      heartbeatTicks: 2,
      electionTicks: 20,
    });
  });

  it('normalizePeers takes every peer form, the same for the server, Ledger and LedgerHost', () => {
    const expected = { a: { raft: '127.0.0.1:7001', client: '127.0.0.1:7101' }, b: { raft: '127.0.0.1:7002', client: '127.0.0.1:9002' } };
    expect(normalizePeers('a=127.0.0.1:7001,b=127.0.0.1:7002/9002')).toEqual(expected);
    expect(normalizePeers({ a: '127.0.0.1:7001', b: '127.0.0.1:7002/9002' })).toEqual(expected);
    expect(normalizePeers({ a: { raft: '127.0.0.1:7001' }, b: { raft: '127.0.0.1:7002', client: '127.0.0.1:9002' } })).toEqual(expected);
    expect(normalizePeers({ a: '127.0.0.1:7001', b: '127.0.0.1:7002/9002' }, { clientOptional: true })).toEqual({ a: { raft: '127.0.0.1:7001' }, b: expected.b });
    expect(() => normalizePeers({})).toThrow(/peers is empty/);
  });
});

describe('the config schema, the server flags and the README stay in step', () => {
  it('every schema key is in the README Configuration table with its flag and default', () => {
    const readme = readFileSync(README, 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(CONFIG_SCHEMA.length);
    for (const entry of CONFIG_SCHEMA) {
      const row = rows.find((r) => r.startsWith(`| \`${entry.key}\` | \`--${entry.flag}\` |`));
      expect(row, `README Configuration row for ${entry.key} (--${entry.flag})`).toBeDefined();
      const expectedDefault = entry.required === true ? 'required' : `\`${entry.default!.split(' ')[0]}\``;
      expect(row!.split(/(?<!\\)\|/)[4], `default of ${entry.key}`).toContain(expectedDefault);
    }
  });

  it('every schema flag is in `raftledger server --help`', () => {
    const help = spawnSync(process.execPath, [MAIN, 'server', '--help'], { encoding: 'utf8' }).stdout;
    for (const entry of CONFIG_SCHEMA) expect(help).toContain(`--${entry.flag} `);
  });
});

describe('the CLI refuses what it used to accept silently (issue 11, item 8)', () => {
  it('an option given twice is an error', () => {
    const r = cli(['server', '--id', 'n0', '--id', 'n1', '--peers', 'n0=127.0.0.1:7001', '--dir', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('raftledger server: --id is given twice; give it once');
    const s = cli(['inspect', tempDir(), '--json', '--json']);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain('--json is given twice');
  });

  it('a negative value gets the option\'s own range message, not "argument is ambiguous"', () => {
    const r = cli(['bench', '--duration', '-1']);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/ambiguous/);
    expect(r.stderr).toContain("raftledger bench: --duration must be a number in [0.1, 3600], got '-1'");
    // The flags bench passes on to the servers take the server's own ranges (CONFIG_SCHEMA).
    const cases: Array<[string[], string]> = [
      [['--memory-flush-ms', '5'], '--memory-flush-ms goes with --durability memory'],
      [['--durability', 'memory', '--memory-flush-ms', '0'], '--memory-flush-ms must be in [1, 60000], got 0'],
      [['--tick-ms', '1001'], '--tick-ms must be in [1, 1000], got 1001'],
      [['--election-ticks', '1'], '--election-ticks must be in [2, 100000], got 1'],
      [['--heartbeat-ticks', '8', '--election-ticks', '8'], '--election-ticks (8) must be greater than --heartbeat-ticks (8)'],
    ];
    for (const [args, message] of cases) {
      const b = cli(['bench', ...args]);
      expect(b.status, args.join(' ')).toBe(2);
      expect(b.stderr).toContain(`raftledger bench: ${message}`);
    }
    const s = cli(['simulate', '--seeds', '-5']);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain("raftledger simulate: --seeds must be a non-negative integer (optionally with k/m/g), got '-5'");
  });

  it('server --config: unknown keys, null, and peers as an array are one-line ERR_BAD_CONFIG errors', () => {
    const cases: Array<[unknown, string]> = [
      [{ ...base, durabilty: 'memory' }, "unknown config key 'durabilty': did you mean 'durability'"],
      [{ ...base, 'segment-size': 4096 }, "unknown config key 'segment-size': did you mean 'segmentSizeBytes'"],
      ['null', 'must hold a JSON object, got null'],
      [{ ...base, peers: ['127.0.0.1:7001'] }, 'not an array'],
      [{ ...base, peers: 'n0=127.0.0.1:7001,n1=127.0.0.1:7001' }, 'have the same address 127.0.0.1:7001'],
    ];
    for (const [value, message] of cases) {
      const r = cli(['server', '--config', configFile(value)]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^raftledger server: ERR_BAD_CONFIG: /);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
