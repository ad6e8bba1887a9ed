#!/usr/bin/env node
'use strict';
/**
 * `npm install` hook: builds the Rust addon (release profile) when a Rust toolchain
 * is present. Without one, the install still succeeds and spanmeter runs on its
 * pure-JS fallback; a one-line hint says how to get the native addon.
 *
 * SPANMETER_REQUIRE_NATIVE=1 turns a missing toolchain or a failed build into an
 * error (CI sets it). SPANMETER_SKIP_NATIVE=1 skips the build.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const required = process.env.SPANMETER_REQUIRE_NATIVE === '1';
const HINT = 'install Rust (https://rustup.rs), then run `node node_modules/spanmeter/scripts/build-native.js` (in a clone: `npm run build:native`)';

function giveUp(reason) {
  if (required) {
    console.error(`spanmeter: native build required (SPANMETER_REQUIRE_NATIVE=1) but ${reason}`);
    process.exit(1);
  }
  console.warn(`spanmeter: ${reason}; using the JS fallback (hdr-histogram-js). To get the native addon: ${HINT}.`);
  process.exit(0);
}

if (process.env.SPANMETER_SKIP_NATIVE === '1') giveUp('SPANMETER_SKIP_NATIVE=1 is set, the native build was skipped');
if (!fs.existsSync(path.join(root, 'native', 'Cargo.toml'))) giveUp('the Rust sources are not in this package');
const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
if (cargo.error || cargo.status !== 0) giveUp('Rust (cargo) was not found');

/** The napi CLI regenerates native/index.js and index.d.ts; without it, cargo builds and we copy the library. */
function napiCli() {
  try {
    return require.resolve('@napi-rs/cli/dist/cli.js', { paths: [root] });
  } catch {
    return undefined;
  }
}

function platformSuffix() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch] ?? process.arch;
  if (process.platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (process.platform === 'darwin') return `darwin-${arch}`;
  if (process.platform === 'win32') return `win32-${arch}-msvc`;
  return `${process.platform}-${arch}`;
}

function run(command, args) {
  console.log(`spanmeter: ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  return !result.error && result.status === 0;
}

const cli = napiCli();
let ok;
if (cli) {
  ok = run(process.execPath, [
    cli, 'build', '--platform', '--release',
    '--manifest-path', 'native/Cargo.toml', '--package-json-path', 'package.json',
    '--output-dir', 'native', '--js', 'index.js', '--dts', 'index.d.ts',
  ]);
} else {
  // Installed as a dependency (no napi CLI): build outside the package and
  // keep only the library; cargo's build directory (~95 MB) stayed in
  // node_modules before.
  const targetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanmeter-build-'));
  try {
    ok = run('cargo', ['build', '--release', '--manifest-path', 'native/Cargo.toml', '--target-dir', targetDir]);
    if (ok) {
      const libName = { darwin: 'libspanmeter_native.dylib', win32: 'spanmeter_native.dll' }[process.platform] ?? 'libspanmeter_native.so';
      fs.copyFileSync(path.join(targetDir, 'release', libName), path.join(root, 'native', `spanmeter.${platformSuffix()}.node`));
    }
  } finally {
    fs.rmSync(targetDir, { recursive: true, force: true });
  }
}
if (!ok) giveUp('the native build failed (see the output above)');
console.log('spanmeter: native addon built');
