/** The retention and free-space keys of ServerConfig: validated with ERR_BAD_CONFIG naming the field. */
import { describe, expect, it } from 'vitest';
import { isRaftLedgerError } from '../../src/index.js';
import { validateConfig } from '../../src/server/config.js';

const base = { id: 'a', dir: '/tmp/x', peers: { a: '127.0.0.1:7000' } };

describe('ServerConfig retention and minFreeBytes', () => {
  it('passes valid keys through and leaves them out when absent', () => {
    const c = validateConfig({ ...base, retention: { maxBytes: 8 << 20, maxAgeMs: 60_000, minEntries: 10, holdForFollowersMs: 0 }, minFreeBytes: 0 });
    expect(c.retention).toEqual({ maxBytes: 8 << 20, maxAgeMs: 60_000, minEntries: 10, holdForFollowersMs: 0 });
    expect(c.minFreeBytes).toBe(0);
    const d = validateConfig(base);
    expect(d.retention).toBeUndefined();
    expect(d.minFreeBytes).toBeUndefined();
  });

  for (const [what, input, field] of [
    ['a negative maxBytes', { retention: { maxBytes: -1 } }, 'retention.maxBytes'],
    ['a fractional maxAgeMs', { retention: { maxAgeMs: 1.5 } }, 'retention.maxAgeMs'],
    ['an unknown retention field', { retention: { maxbytes: 1 } }, "'maxbytes'"],
    ['a retention that is not an object', { retention: 5 }, 'retention must be an object'],
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
