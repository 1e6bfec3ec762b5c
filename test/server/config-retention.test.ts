/** The retention and free-space keys of ServerConfig: flat schema keys, validated with ERR_BAD_CONFIG naming the field, gathered into `retention`. */
import { describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/index.js';
import { validateConfig } from '../../src/server/config.js';

const base = { id: 'a', dir: '/tmp/x', peers: { a: '127.0.0.1:7000' } };

describe('ServerConfig retention and minFreeBytes', () => {
  it('gathers the retention* keys into retention and leaves them out when absent', () => {
    const c = validateConfig({ ...base, retentionMaxBytes: 8 << 20, retentionMaxAgeMs: 60_000, retentionMinEntries: 10, retentionHoldForFollowersMs: 0, minFreeBytes: 0 });
    expect(c.retention).toEqual({ maxBytes: 8 << 20, maxAgeMs: 60_000, minEntries: 10, holdForFollowersMs: 0 });
    expect(c.minFreeBytes).toBe(0);
    const d = validateConfig(base);
    expect(d.retention).toBeUndefined();
    expect(d.minFreeBytes).toBeUndefined();
  });

  for (const [what, input, field] of [
    ['a negative retentionMaxBytes', { retentionMaxBytes: -1 }, 'retentionMaxBytes'],
    ['a fractional retentionMaxAgeMs', { retentionMaxAgeMs: 1.5 }, 'retentionMaxAgeMs'],
    ['a nested retention object (the embedding API shape)', { retention: { maxBytes: 1 } }, 'retention'],
    ['a string minFreeBytes', { minFreeBytes: '1g' }, 'minFreeBytes'],
  ] as const) {
    it(`refuses ${what}`, () => {
      let error: unknown;
      try {
        validateConfig({ ...base, ...input });
      } catch (e) {
        error = e;
      }
      expect(isRaftLedgerError(error, 'ERR_BAD_CONFIG'), String(error)).toBe(true);
      expect((error as Error).message).toContain(field);
    });
  }
});
