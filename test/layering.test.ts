/**
 * Layering: every import in src/**\/*.ts (static `import` / `export ... from`, `import type`,
 * `import('...')` with a literal, type-position `import('...')`, `require('...')`, and the
 * `new URL('./x.js', import.meta.url)` references that name a worker or child-process
 * module) must point down the stack. The arrows point one way; the lower never imports the
 * higher:
 *
 *   cli -> tools -> server -> host -> replica -> {raft, storage, transport} -> native
 *
 * raft/ imports only raft/. storage/ never imports raft/ or transport/, and only storage/
 * touches the addon (through storage/native.ts, the one module that loads it).
 * transport/ may import raft/types.ts and storage's record layout (format.ts, records.ts)
 * to carry records. client/ (the network client) sits on transport/. src/errors.ts is
 * imported by anyone and imports nothing; src/index.ts is the public entry and never
 * imports tools/ or cli/. Nothing outside cli/ and tools/ imports tools/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

type Layer = 'cli' | 'tools' | 'server' | 'host' | 'replica' | 'raft' | 'storage' | 'transport' | 'client' | 'errors' | 'shared' | 'index';

/** Which layers a file of each layer may import (besides node: builtins and the packages in PACKAGES). */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  cli: ['cli', 'tools', 'server', 'host', 'replica', 'raft', 'storage', 'transport', 'client', 'errors', 'shared'],
  tools: ['tools', 'server', 'host', 'replica', 'raft', 'storage', 'transport', 'client', 'errors', 'shared'],
  server: ['server', 'host', 'replica', 'raft', 'storage', 'transport', 'errors', 'shared'],
  host: ['host', 'replica', 'raft', 'storage', 'transport', 'errors', 'shared'],
  replica: ['replica', 'raft', 'storage', 'transport', 'errors', 'shared'],
  raft: ['raft'],
  storage: ['storage', 'errors', 'shared'],
  transport: ['transport', 'errors', 'shared'],
  client: ['client', 'transport', 'errors', 'shared'],
  errors: [],
  // Top-level modules every layer but raft/ shares: the public entry type, the package version.
  shared: ['shared', 'errors'],
  index: ['server', 'host', 'replica', 'raft', 'storage', 'transport', 'client', 'errors', 'shared'],
};

/** Single files a layer may import beyond MAY_IMPORT (paths relative to src/). */
const MAY_IMPORT_FILES: Partial<Record<Layer, readonly string[]>> = {
  transport: ['raft/types.ts', 'storage/format.ts', 'storage/records.ts'],
  shared: ['raft/types.ts'],
};

/** Files only their own layer may import, and the layer. */
const PRIVATE_FILES: Record<string, Layer> = {
  // The addon's loader: only storage/ touches the addon.
  'storage/native.ts': 'storage',
};

/** Package (non-relative, non-node:) imports and the layers allowed to use them. */
const PACKAGES: Record<string, readonly Layer[]> = {
  piscina: ['host', 'shared'],
  pino: ['server'],
  'prom-client': ['server'],
};

/** Node builtins a layer may not use (raft/ is pure; errors.ts depends on nothing). */
const NO_BUILTINS: readonly Layer[] = ['raft', 'errors'];

/** Loading the addon (createRequire of a .node file) happens in this file only. */
const ADDON_LOADER = 'storage/native.ts';

/**
 * `new URL(...)` references that start a child process rather than load a module into this
 * one (so the layers do not apply): the local cluster runs `raftledger server` processes.
 */
const SPAWNED: ReadonlySet<string> = new Set(['tools/cluster/local-cluster.ts -> cli/main.ts']);

interface Violation {
  file: string;
  line: number;
  specifier: string;
  reason: string;
}

function layerOf(file: string): Layer | undefined {
  if (file === 'errors.ts') return 'errors';
  if (file === 'index.ts') return 'index';
  if (file === 'entry.ts' || file === 'version.ts') return 'shared';
  const top = file.split('/')[0]!;
  return top in MAY_IMPORT && file.includes('/') ? (top as Layer) : undefined;
}

interface ImportRef {
  specifier: string;
  line: number;
  kind: 'import' | 'url' | 'require';
}

/** Every module reference in one TypeScript source. */
function importsOf(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: ImportRef[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined, kind: ImportRef['kind']): void => {
    if (literal === undefined || !ts.isStringLiteralLike(literal)) return;
    out.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, 'import');
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, 'require');
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, 'import');
    else if (ts.isCallExpression(node)) {
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        if (arg !== undefined && !ts.isStringLiteralLike(arg)) {
          out.push({ specifier: '<non-literal>', line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, kind: 'import' });
        } else add(node, arg, 'import');
      } else if (ts.isIdentifier(node.expression) && node.expression.text === 'require') add(node, node.arguments[0], 'require');
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL') {
      // new URL('./worker.js', import.meta.url): a module this one starts on a worker or in a process.
      const [first, second] = node.arguments ?? [];
      if (first !== undefined && ts.isStringLiteralLike(first) && second !== undefined && ts.isPropertyAccessExpression(second) && ts.isMetaProperty(second.expression) && /\.[cm]?js$/.test(first.text)) add(node, first, 'url');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (/\bcreateRequire\b/.test(text)) {
    const line = text.slice(0, text.search(/\bcreateRequire\b/)).split('\n').length;
    out.push({ specifier: '<createRequire>', line, kind: 'require' });
  }
  if (/\bdlopen\b/.test(text)) {
    const line = text.slice(0, text.search(/\bdlopen\b/)).split('\n').length;
    out.push({ specifier: '<dlopen>', line, kind: 'require' });
  }
  return out;
}

/** A relative specifier ('../x/y.js') resolved to a src-relative .ts path ('x/y.ts'), or undefined when it leaves src/. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  if (target.startsWith('../')) return undefined;
  return target.replace(/\.js$/, '.ts');
}

/** The layering violations in a set of sources (keys: paths relative to src/, '/'-separated). */
function checkLayering(sources: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, text] of sources) {
    const layer = layerOf(file);
    if (layer === undefined) {
      violations.push({ file, line: 1, specifier: '', reason: `${file} is in no layer (add its folder to the table in test/layering.test.ts)` });
      continue;
    }
    for (const ref of importsOf(file, text)) {
      const v = (reason: string): void => {
        violations.push({ file, line: ref.line, specifier: ref.specifier, reason });
      };
      if (ref.specifier === '<non-literal>') {
        v('a dynamic import without a literal specifier cannot be checked');
        continue;
      }
      if (ref.specifier === '<createRequire>' || ref.specifier === '<dlopen>') {
        if (file !== ADDON_LOADER) v(`only ${ADDON_LOADER} loads native code (${ref.specifier.slice(1, -1)})`);
        continue;
      }
      if (ref.specifier.startsWith('node:')) {
        if (NO_BUILTINS.includes(layer)) v(`${layer} uses no Node builtins`);
        continue;
      }
      if (!ref.specifier.startsWith('.')) {
        const allowed = PACKAGES[ref.specifier.startsWith('@') ? ref.specifier.split('/').slice(0, 2).join('/') : ref.specifier.split('/')[0]!];
        if (allowed === undefined || !allowed.includes(layer)) v(`package '${ref.specifier}' is not allowed in ${layer}/ (see PACKAGES)`);
        continue;
      }
      const target = resolveSpecifier(file, ref.specifier);
      if (target === undefined) {
        v('imports from outside src/');
        continue;
      }
      if (ref.kind === 'url' && SPAWNED.has(`${file} -> ${target}`)) continue;
      if (!sources.has(target)) {
        v(`resolves to ${target}, which is not a source file`);
        continue;
      }
      const targetLayer = layerOf(target);
      if (targetLayer === undefined) continue; // reported for the target itself
      const owner = PRIVATE_FILES[target];
      if (owner !== undefined && owner !== layer) {
        v(`${target} is private to ${owner}/`);
        continue;
      }
      if (MAY_IMPORT[layer].includes(targetLayer) || MAY_IMPORT_FILES[layer]?.includes(target) === true) continue;
      v(`${layer} -> ${targetLayer} crosses the layers the wrong way (${layer}/ may import ${[...MAY_IMPORT[layer], ...(MAY_IMPORT_FILES[layer] ?? [])].join(', ') || 'nothing'})`);
    }
  }
  return violations;
}

function readSources(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.set(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Classes that exactly one module constructs (the one place that wires them). */
const ONE_CONSTRUCTOR: Record<string, string> = {
  PeerTransport: 'replica/group-set.ts',
  Piscina: 'host/ledger-host.ts',
};

/** Where each `new X(...)` of ONE_CONSTRUCTOR's classes is written, as 'file:line'. */
function constructionsOf(sources: ReadonlyMap<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in ONE_CONSTRUCTOR) {
        const name = node.expression.text;
        const at = `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
        out.set(name, [...(out.get(name) ?? []), at]);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

const format = (v: Violation): string => `src/${v.file}:${v.line}: '${v.specifier}': ${v.reason}`;

describe('layering', () => {
  it('no import in src/ crosses a layer the wrong way', () => {
    const sources = readSources(SRC);
    expect(sources.size).toBeGreaterThan(50);
    expect(checkLayering(sources).map(format)).toEqual([]);
  });

  it('one module constructs each of the shared resources (PeerTransport, the worker pool)', () => {
    const found = constructionsOf(readSources(SRC));
    for (const [name, home] of Object.entries(ONE_CONSTRUCTOR)) {
      expect((found.get(name) ?? []).map((at) => at.replace(/:\d+$/, '')), `new ${name}(...) at ${(found.get(name) ?? []).join(', ')}`).toEqual([home]);
    }
  });

  it('the rule catches native code loaded outside storage/native.ts by process.dlopen', () => {
    const sources = new Map<string, string>([
      ['storage/native.ts', "process.dlopen(module, 'addon.node');\n"],
      ['replica/fast.ts', "const m = { exports: {} };\nprocess.dlopen(m, '../build/Release/raftledger.node');\n"],
    ]);
    expect(checkLayering(sources).map((v) => `${v.file}:${v.line} ${v.specifier}`)).toEqual(['replica/fast.ts:2 <dlopen>']);
  });

  it('the rule catches an import that points upward, and each special case', () => {
    const ok = 'export const x = 1;\n';
    const sources = new Map<string, string>([
      ['errors.ts', ok],
      ['index.ts', "export * from './tools/check/run.js';\n"],
      ['tools/check/run.ts', ok],
      ['cli/main.ts', "export * from './args.js';\n"],
      ['cli/args.ts', ok],
      ['server/server.ts', ok],
      ['host/worker.ts', "import { x } from '../server/server.js';\nexport const y = x;\n"],
      ['replica/ledger.ts', "const m = await import('../host/worker.js');\n"],
      ['raft/raft.ts', "import { RaftLedgerError } from '../errors.js';\nimport type { T } from '../storage/format.js';\n"],
      ['raft/types.ts', ok],
      ['storage/format.ts', "import { createRequire } from 'node:module';\n"],
      ['storage/records.ts', ok],
      ['storage/native.ts', "import { createRequire } from 'node:module';\n"],
      ['storage/log.ts', "import type { Message } from '../raft/types.js';\nimport { native } from './native.js';\n"],
      ['transport/frame.ts', "import type { T } from '../raft/types.js';\nimport { R } from '../storage/records.js';\nimport { L } from '../storage/log.js';\n"],
      ['transport/codec.ts', "import { native } from '../storage/native.js';\nexport type W = import('../replica/ledger.js').Ledger;\n"],
      ['client/client.ts', "import { Piscina } from 'piscina';\n"],
      ['host/pool.ts', "import { Piscina } from 'piscina';\nconst f = new URL('../server/server.js', import.meta.url);\n"],
      ['tools/cluster/local-cluster.ts', "const main = new URL('../../cli/main.js', import.meta.url);\n"],
      ['replica/load.ts', 'const m = await import(name);\n'],
    ]);
    const found = checkLayering(sources).map((v) => `${v.file}:${v.line} ${v.specifier}`);
    expect(found.sort()).toEqual(
      [
        'index.ts:1 ./tools/check/run.js', // the public entry never exports tools/
        'host/worker.ts:1 ../server/server.js', // host -> server, upward
        'replica/ledger.ts:1 ../host/worker.js', // dynamic import, upward
        'raft/raft.ts:1 ../errors.js', // raft imports only raft
        'raft/raft.ts:2 ../storage/format.js',
        'storage/format.ts:1 <createRequire>', // only native.ts loads the addon
        'storage/log.ts:1 ../raft/types.js', // storage never imports raft
        'transport/frame.ts:3 ../storage/log.js', // transport: only the record layout of storage
        'transport/codec.ts:1 ../storage/native.js', // the addon is storage's alone
        'transport/codec.ts:2 ../replica/ledger.js', // type-position import()
        'client/client.ts:1 piscina',
        'host/pool.ts:2 ../server/server.js', // a worker file named by URL counts as an import
        'replica/load.ts:1 <non-literal>',
      ].sort(),
    );
  });
});
