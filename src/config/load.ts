import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as YAML from 'yaml';
import { SpanMeterError, describeKind } from '../errors';
import { formatPath, Issues, isPlainObject, type ConfigPath } from './schema';
import { SECTIONS, type SpanMeterConfig } from './sections';
import { noteBurnRateAlerting } from './slos-section';

/** One problem of a configuration, with where it is. */
export interface ConfigProblem {
  /** The config file, or `(config object)` for a configuration given in code. */
  file: string;
  /** 1-based line in the file, when the configuration came from YAML. */
  line?: number;
  column?: number;
  /** Key path, e.g. `slos[0].objective`. */
  key: string;
  message: string;
}

/** The error thrown for an invalid configuration: every problem, with file, line and key. */
export class ConfigError extends SpanMeterError {
  constructor(readonly problems: ConfigProblem[]) {
    const where = problems[0]?.file ?? '(config object)';
    const lines = problems.map((p) => `  ${p.file}${p.line !== undefined ? `:${p.line}` : ''} ${p.key}: ${p.message}`);
    super(`spanmeter: invalid configuration in ${where} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, 'SPANMETER_INVALID_CONFIG');
    this.name = 'ConfigError';
  }
}

const CODE_SOURCE = '(config object)';

/**
 * Reads and validates a configuration: a YAML file path, an object, or (when
 * neither is given) the file named by SPANMETER_CONFIG, else the defaults.
 * Throws a {@link ConfigError} that lists every problem; never returns a partial config.
 */
export function loadConfig(input?: string | URL | Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SpanMeterConfig {
  let source: unknown = input;
  if (source === undefined && env.SPANMETER_CONFIG !== undefined && env.SPANMETER_CONFIG !== '') source = env.SPANMETER_CONFIG;
  // a file: URL, as an object or as the string import.meta.resolve() gives (file:///…)
  if ((source instanceof URL && source.protocol === 'file:') || (typeof source === 'string' && source.startsWith('file://'))) source = pathOfFileUrl(source);
  if (source === '') throw new ConfigError([{ file: CODE_SOURCE, key: '(root)', message: 'the config is an empty path: give a YAML file path, a file: URL or an object' }]);
  if (typeof source === 'string') return loadYamlFile(source, env, input === undefined ? 'SPANMETER_CONFIG' : undefined);
  if (source !== undefined && !isPlainObject(source)) {
    throw new ConfigError([{ file: CODE_SOURCE, key: '(root)', message: `the config must be a file path, a file: URL or an object, got ${describeKind(source)}` }]);
  }
  return validate(source ?? {}, env, (path, message) => ({ file: CODE_SOURCE, key: formatPath(path), message }));
}

/** The path of a file: URL; a ConfigError naming it when it has none here (a host, bad escapes). */
function pathOfFileUrl(url: URL | string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    const shown = String(url).length > 100 ? `${String(url).slice(0, 100)}…` : String(url);
    throw new ConfigError([{ file: shown, key: '(file)', message: `not a file path on this machine: ${(error as Error).message}` }]);
  }
}

/** `namedBy`: the environment variable that named the file, if one did. */
function loadYamlFile(file: string, env: NodeJS.ProcessEnv, namedBy?: string): SpanMeterConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const from = namedBy === undefined ? '' : ` (named by ${namedBy})`;
    throw new ConfigError([{ file, key: '(file)', message: `cannot read the file${from}: ${(error as Error).message}` }]);
  }
  return parseYamlConfig(text, file, env);
}

/** Validates YAML text as a configuration; `file` names it in errors. */
export function parseYamlConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): SpanMeterConfig {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  // an unknown tag (`!custom 10`) would make its value a plain string without a word
  const faults = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')];
  if (faults.length > 0) {
    throw new ConfigError(
      faults.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const duplicate = e.code === 'DUPLICATE_KEY' ? duplicateKeyAt(doc, e.pos[0], lineCounter) : undefined;
        if (duplicate !== undefined) return { file, line: pos.line, column: pos.col, key: formatPath(duplicate.path), message: duplicate.message };
        if (e.code === 'TAG_RESOLVE_FAILED') {
          const path = keyPathAt(doc, e.pos[0]);
          const message = `${e.message.split('\n')[0]}: spanmeter reads plain YAML (strings, numbers, booleans, lists, mappings); remove the tag`;
          return { file, line: pos.line, column: pos.col, key: path === undefined ? '(yaml)' : formatPath(path), message };
        }
        return { file, line: pos.line, column: pos.col, key: '(yaml)', message: e.message.split('\n')[0] };
      }),
    );
  }
  keepStringMapsAsWritten(doc);
  const value = toJSChecked(doc, file, lineCounter) ?? {};
  if (!isPlainObject(value)) {
    throw new ConfigError([{ file, line: 1, key: '(root)', message: 'the top level must be a mapping' }]);
  }
  return validate(value, env, (path, message) => {
    const at = locate(doc, path, lineCounter);
    return { file, line: at?.line, column: at?.col, key: formatPath(path), message };
  });
}

/** Mappings whose values are strings however they are written: labels, annotations, request headers. */
const STRING_MAPS = new Set(['labels', 'annotations', 'headers']);

/**
 * In a labels, annotations or headers mapping, an unquoted value YAML reads as
 * a number or a boolean is taken as written: `version: 1.10` stays "1.10",
 * `zone: 007` "007", a 20-digit tenant id all its digits (as numbers they
 * came back as "1.1", "7" and a rounded id).
 */
function keepStringMapsAsWritten(doc: YAML.Document): void {
  YAML.visit(doc, {
    Scalar(key, node, ancestors) {
      // an anchored scalar may be aliased where a number is meant (`above: &v 5`): left as YAML read it
      if (key !== 'value' || node.type !== 'PLAIN' || node.anchor !== undefined || (typeof node.value !== 'number' && typeof node.value !== 'boolean')) return;
      const map = ancestors[ancestors.length - 2];
      const outer = ancestors[ancestors.length - 3];
      if (!YAML.isMap(map) || !YAML.isPair(outer) || outer.value !== map || !YAML.isScalar(outer.key)) return;
      const source = (node as { source?: unknown }).source;
      if (STRING_MAPS.has(String(outer.key.value)) && typeof source === 'string') node.value = source;
    },
  });
}

/** Aliased nodes one document may expand to (yaml's `maxAliasCount`): a "billion laughs" stops here. */
const MAX_ALIAS_COUNT = 100;

/**
 * `doc.toJS()`, with yaml's alias errors (an alias without its anchor, an alias bomb) turned into a
 * ConfigError naming the file, the line and the key path of the alias that failed.
 */
function toJSChecked(doc: YAML.Document, file: string, lineCounter: YAML.LineCounter): unknown {
  // Each alias notes itself when its resolution throws: the innermost one (the first to catch) is the culprit.
  let failed: YAML.Alias | undefined;
  const paths = new Map<YAML.Alias, ConfigPath>();
  YAML.visit(doc, {
    Alias(_key, node, ancestors) {
      paths.set(node, keyPathOf(ancestors, node));
      const resolve = node.toJSON;
      Object.defineProperty(node, 'toJSON', {
        configurable: true,
        value(this: YAML.Alias, ...args: Parameters<YAML.Alias['toJSON']>) {
          try {
            return resolve.apply(this, args);
          } catch (error) {
            failed ??= this;
            throw error;
          }
        },
      });
    },
  });
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    const alias = failed ?? [...paths.keys()][0];
    const offset = rangeStart(alias);
    const at = offset === undefined ? undefined : lineCounter.linePos(offset);
    const source = alias === undefined ? '' : ` *${alias.source}`;
    const message = /excessive alias count/i.test(error.message)
      ? `alias${source} expands to too many nodes (more than ${MAX_ALIAS_COUNT} aliased nodes in all); YAML alias bombs are refused`
      : /unresolved alias/i.test(error.message)
        ? `alias${source} has no anchor &${alias?.source ?? ''} before it`
        : `alias${source}: ${error.message}`;
    const path = alias === undefined ? [] : (paths.get(alias) ?? []);
    throw new ConfigError([{ file, line: at?.line, column: at?.col, key: formatPath(path), message }]);
  }
}

/** The key path of a key given twice in its mapping (the second time at `offset`), and a message that says where the first one is. */
function duplicateKeyAt(doc: YAML.Document, offset: number, lineCounter: YAML.LineCounter): { path: ConfigPath; message: string } | undefined {
  let found: { path: ConfigPath; message: string } | undefined;
  YAML.visit(doc, {
    Pair(_key, pair, ancestors) {
      const start = rangeStart(pair.key);
      const parent = ancestors[ancestors.length - 1];
      if (start !== offset || !YAML.isMap(parent)) return undefined;
      const name = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const first = parent.items.find((p) => p !== pair && YAML.isScalar(p.key) && String(p.key.value) === name);
      const firstAt = rangeStart(first?.key);
      const where = firstAt === undefined ? '' : ` (first at line ${lineCounter.linePos(firstAt).line})`;
      found = { path: [...keyPathOf(ancestors.slice(0, -1), parent), name], message: `key "${name}" is given twice in this mapping${where}` };
      return YAML.visit.BREAK;
    },
  });
  return found;
}

/** The key path of the value a tag at `offset` belongs to: the first node (in document order) that starts there or after it. */
function keyPathAt(doc: YAML.Document, offset: number): ConfigPath | undefined {
  let found: ConfigPath | undefined;
  YAML.visit(doc, {
    Node(key, node, ancestors) {
      const start = rangeStart(node);
      if (key === 'key' || start === undefined || start < offset) return undefined;
      found = keyPathOf(ancestors, node);
      return YAML.visit.BREAK;
    },
  });
  return found;
}

/** The key path (`slos[0].selector`) of a node, from the ancestors yaml's visit() gives. */
function keyPathOf(ancestors: readonly unknown[], node: unknown): ConfigPath {
  const path: (string | number)[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (YAML.isSeq(parent)) {
      path.push(parent.items.indexOf(child as never));
    } else if (YAML.isPair(parent) && parent.value === child) {
      const key = YAML.isScalar(parent.key) ? parent.key.value : parent.key;
      path.push(String(key));
    }
  }
  return path;
}

function validate(
  value: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  toProblem: (path: ConfigPath, message: string) => ConfigProblem,
): SpanMeterConfig {
  const issues = new Issues();
  const names = Object.keys(SECTIONS) as (keyof typeof SECTIONS)[];
  for (const key of Object.keys(value)) {
    if (!(names as string[]).includes(key)) issues.add([key], `unknown section; allowed: ${names.join(', ')}`);
  }
  const config = {} as Record<string, unknown>;
  for (const name of names) {
    config[name] = SECTIONS[name](value[name], [name], issues, env);
    // `slos:` checks its time windows against the burn-rate tiers only when burn-rate alerting is on.
    if (name === 'alerting') noteBurnRateAlerting(issues, (config[name] as SpanMeterConfig['alerting']).burnRate.enabled);
  }
  if (!issues.empty) {
    const problems = issues.list.map((i) => toProblem(i.path, i.message));
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(problems);
  }
  return config as SpanMeterConfig;
}

/** The line of the deepest node of `path` that exists (the key itself for the last step). */
function locate(doc: YAML.Document, path: ConfigPath, lineCounter: YAML.LineCounter): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    const last = i === path.length - 1;
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => (YAML.isScalar(p.key) ? p.key.value : p.key) === step);
      if (pair === undefined) break;
      offset = rangeStart(pair.key) ?? offset;
      if (last) break;
      node = pair.value;
      offset = rangeStart(node) ?? offset;
    } else if (YAML.isSeq(node) && typeof step === 'number') {
      node = node.items[step];
      if (node === undefined) break;
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}
