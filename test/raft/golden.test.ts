/**
 * Golden traces: replays every script in test/raft/testdata/*.txt (command
 * language in script.ts) and compares what each command prints with the
 * output checked in under it, so a change in the core's behaviour shows up as
 * a readable diff of messages and state.
 *
 * File format (as in etcd-io/raft's datadriven tests): a command line, a line
 * `----`, the expected output, then a blank line. Lines starting with `#` and
 * blank lines between blocks are comments.
 *
 * After an intended behaviour change, regenerate and review the diff:
 *   RAFTLEDGER_REWRITE_GOLDEN=1 npx vitest run test/raft/golden.test.ts && git diff test/raft/testdata
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Script } from './script.js';

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const REWRITE = process.env.RAFTLEDGER_REWRITE_GOLDEN === '1';

interface Block {
  /** Comment and blank lines before the command, verbatim. */
  prose: string[];
  command: string;
  line: number;
  expected: string[];
}

export function parseGolden(text: string): { blocks: Block[]; tail: string[] } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const blocks: Block[] = [];
  let prose: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) {
      prose.push(l);
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected ---- after the command ${JSON.stringify(l)}`);
    const block: Block = { prose, command: l, line: i + 1, expected: [] };
    i += 2;
    while (i < lines.length && lines[i]!.trim() !== '') block.expected.push(lines[i++]!);
    blocks.push(block);
    prose = [];
  }
  return { blocks, tail: prose };
}

function render(blocks: { prose: string[]; command: string; output: string[] }[], tail: string[]): string {
  const out: string[] = [];
  for (const b of blocks) out.push(...b.prose, b.command, '----', ...b.output);
  out.push(...tail);
  return out.join('\n') + '\n';
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

describe('golden traces (test/raft/testdata)', () => {
  it('has scripts', () => expect(files.length).toBeGreaterThanOrEqual(8));

  it.each(files)('%s', (file) => {
    const path = join(DIR, file);
    const text = readFileSync(path, 'utf8');
    const { blocks, tail } = parseGolden(text);
    const script = new Script();
    const ran = blocks.map((b) => {
      let output: string;
      try {
        output = script.run(b.command);
      } catch (e) {
        throw new Error(`${file}:${b.line}: ${b.command}: ${(e as Error).message}`, { cause: e });
      }
      return { prose: b.prose, command: b.command, output: output.split('\n') };
    });
    const actual = render(ran, tail);
    if (REWRITE) {
      if (actual !== text) writeFileSync(path, actual);
      return;
    }
    const first = ran.findIndex((r, i) => r.output.join('\n') !== blocks[i]!.expected.join('\n'));
    const where = first < 0 ? '' : ` (first difference at ${file}:${blocks[first]!.line}: ${blocks[first]!.command})`;
    expect(actual, `golden trace ${file} differs${where}; if intended: RAFTLEDGER_REWRITE_GOLDEN=1`).toBe(text);
  });
});
