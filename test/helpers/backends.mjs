// Which histogram back ends the tests run against. Both, always: the native one
// must load in CI (CI=true); elsewhere, without a Rust build, native tests are
// skipped with a message that says how to build it (README, "Tests").
import test from 'ava';
import { backendInfo } from 'spanmeter';

const info = backendInfo();
const inCI = process.env.CI === 'true' || process.env.CI === '1';

export const BACKENDS = ['native', 'js'];

/** Registers `fn` as one test per back end: `title [native]`, `title [js]`. */
export function eachBackend(title, fn) {
  register(test, title, fn);
}

/** `eachBackend` for tests that must not share their file's process with concurrent tests (they run first, one at a time). */
eachBackend.serial = (title, fn) => register(test.serial, title, fn);

function register(test, title, fn) {
  for (const backend of BACKENDS) {
    const name = `${title} [${backend}]`;
    if (backend === 'native' && !info.nativeAvailable) {
      if (inCI) {
        test(name, (t) => t.fail(`the native addon must load in CI: ${info.reason}`));
      } else {
        test.skip(`${name} (native addon not built: run \`npm run build:native\` with Rust installed)`, () => {});
      }
      continue;
    }
    test(name, (t) => fn(t, backend));
  }
}
