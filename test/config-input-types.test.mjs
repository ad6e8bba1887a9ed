// The config option's TypeScript type is the file's keys: the sample configuration,
// given as an object, type-checks, and a misspelt key does not (it was typed
// Record<string, unknown>: anything compiled and failed at start).
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Type-checks `source` as a module importing spanmeter; resolves with tsc's output (rejects on errors). */
async function typeCheck(t, source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanmeter-types-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'spanmeter'));
  fs.writeFileSync(path.join(dir, 'app.ts'), source);
  const options = { strict: true, module: 'nodenext', moduleResolution: 'nodenext', noEmit: true, target: 'es2022', typeRoots: [path.join(root, 'node_modules', '@types')], types: ['node'] };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['app.ts'] }));
  return promisify(execFile)(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { timeout: 60_000 });
}

test('the sample configuration, as an object, type-checks as SpanMeterConfigInput; a misspelt key does not', async (t) => {
  const sample = YAML.parse(fs.readFileSync(path.join(root, 'config', 'tracing_config.yaml'), 'utf8'));
  const good = `import { SpanMeterProcessor, type SpanMeterConfigInput } from 'spanmeter';
const config: SpanMeterConfigInput = ${JSON.stringify(sample, null, 2)};
new SpanMeterProcessor({ config });
`;
  await t.notThrowsAsync(typeCheck(t, good));
  const bad = `import { SpanMeterProcessor } from 'spanmeter';
new SpanMeterProcessor({ config: { stats: { max_operatons: 10 } } });
`;
  const error = await t.throwsAsync(typeCheck(t, bad));
  t.regex(error.stdout, /'max_operatons' does not exist in type 'StatsInput'. Did you mean to write 'max_operations'\?/);
});
