// The processor never keeps a process alive, installs without Rust, and falls back
// to the JS back end with one clear warning when the native binary is missing.
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmpRoot = path.join(root, 'test', '.tmp');

function freshDir(name) {
  const dir = path.join(tmpRoot, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const APP = `
const { SpanMeterProcessor } = require('spanmeter');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
(async () => {
  const processor = new SpanMeterProcessor();
  const second = new SpanMeterProcessor();
  const provider = new NodeTracerProvider({ spanProcessors: [processor, second] });
  const tracer = provider.getTracer('app');
  for (let i = 0; i < 500; i++) tracer.startSpan('work').end();
  const report = await processor.stats();
  console.log(JSON.stringify({ backend: report.backend, spans: report.totals.spans }));
  // no shutdown: the timers and the worker pool must not keep the process alive
})();
`;

test('a process that never calls shutdown() still exits by itself', async (t) => {
  const dir = freshDir('exit');
  fs.writeFileSync(path.join(dir, 'app.cjs'), APP);
  const { stdout } = await run(process.execPath, [path.join(dir, 'app.cjs')], { cwd: root, timeout: 60_000 });
  const result = JSON.parse(stdout.trim());
  t.is(result.spans, 500);
});

/** An app with spanmeter installed without (or with a broken) native binary; runs it and returns its result and warnings. */
async function runWithoutNative(name, nativeFile, env = {}) {
  const dir = freshDir(name);
  const pkg = path.join(dir, 'node_modules', 'spanmeter');
  fs.mkdirSync(path.join(pkg, 'native'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'native', 'index.js'), path.join(pkg, 'native', 'index.js'));
  if (nativeFile !== undefined) fs.writeFileSync(path.join(pkg, 'native', nativeFile.name), nativeFile.bytes);
  fs.writeFileSync(path.join(dir, 'app.cjs'), APP);
  // an app package of its own, or Node would resolve 'spanmeter' to this repository (self-reference)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const { stdout, stderr } = await run(process.execPath, [path.join(dir, 'app.cjs')], {
    cwd: dir,
    timeout: 60_000,
    env: { ...process.env, SPANMETER_BACKEND: '', ...env },
  });
  return { result: JSON.parse(stdout.trim()), warnings: stderr.split('\n').filter((line) => line.includes('SpanMeterWarning')), stderr };
}

test('installed without a native binary: JS fallback, one warning that says how to get the native addon', async (t) => {
  const { result, warnings, stderr } = await runWithoutNative('fallback');
  t.deepEqual(result, { backend: 'js', spans: 500 });
  t.is(warnings.length, 1, stderr);
  t.regex(warnings[0], /native addon not available .*using the JS fallback/);
  t.regex(warnings[0], /rustup\.rs.*node node_modules\/spanmeter\/scripts\/build-native\.js/);
  // the reason is that the binary is missing, not napi's generic advice about npm's optional dependencies
  t.regex(warnings[0], /no native\/spanmeter\.[a-z0-9]+-[a-z0-9]+\*\.node in this package/);
  t.notRegex(warnings[0], /npm has a bug/);
});

test('SPANMETER_BACKEND without a native binary: js runs with no warning, native is an error that names the variable, anything else is refused', async (t) => {
  const js = await runWithoutNative('env-js', undefined, { SPANMETER_BACKEND: 'js' });
  t.deepEqual(js.result, { backend: 'js', spans: 500 });
  t.deepEqual(js.warnings, [], js.stderr);
  const native = await t.throwsAsync(runWithoutNative('env-native', undefined, { SPANMETER_BACKEND: 'native' }));
  t.regex(native.stderr, /the native addon is required \(SPANMETER_BACKEND=native\) but did not load: no native\/spanmeter\./);
  // a SpanMeterError with a code, as every other option error
  t.regex(native.stderr, /SpanMeterError: spanmeter: the native addon is required/);
  t.regex(native.stderr, /code: 'SPANMETER_NO_NATIVE'/);
  const gpu = await t.throwsAsync(runWithoutNative('env-gpu', undefined, { SPANMETER_BACKEND: 'gpu' }));
  t.regex(gpu.stderr, /SPANMETER_BACKEND must be one of auto, native, js; got "gpu"/);
});

test('a native binary that does not load: the warning gives its loader error', async (t) => {
  const { platform, arch } = process;
  const abi = platform === 'linux' ? '-gnu' : platform === 'win32' ? '-msvc' : '';
  const { result, warnings, stderr } = await runWithoutNative('broken', { name: `spanmeter.${platform}-${arch}${abi}.node`, bytes: 'not a shared object' });
  t.deepEqual(result, { backend: 'js', spans: 500 });
  t.is(warnings.length, 1, stderr);
  t.regex(warnings[0], /native addon not available \((?!no native)[^)]*(too short|invalid ELF|not a valid|slice)/i);
});

test('the install script succeeds without Rust, with a hint, and fails when the native build is required', async (t) => {
  const dir = freshDir('norust');
  // a PATH with node but without cargo
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const env = { ...process.env, PATH: bin, SPANMETER_REQUIRE_NATIVE: '' };
  const script = path.join(root, 'scripts', 'build-native.js');
  const ok = await run(process.execPath, [script], { env, timeout: 60_000 });
  t.regex(ok.stderr, /spanmeter: Rust \(cargo\) was not found; using the JS fallback/);
  t.regex(ok.stderr, /rustup\.rs/);
  const failed = await t.throwsAsync(run(process.execPath, [script], { env: { ...env, SPANMETER_REQUIRE_NATIVE: '1' }, timeout: 60_000 }));
  t.is(failed.code, 1);
  t.regex(failed.stderr, /native build required/);
});
