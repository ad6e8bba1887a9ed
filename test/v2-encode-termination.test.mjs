// The JS back end encodes V2 strings on the stats worker, which the pool
// terminates when a task passes workerTimeoutMs. A worker terminated while
// encoding must end alone: with node:zlib's deflateSync, Node 20 aborted the
// whole process (the application) within about 20 such terminations.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/v2-encode-terminate.cjs', import.meta.url));
const ROUNDS = 150;

test(`a worker terminated while encoding V2 strings (${ROUNDS} times, at random moments) never aborts the process`, async (t) => {
  const outcome = await new Promise((resolve) => {
    execFile(process.execPath, [FIXTURE, String(ROUNDS)], { timeout: 240_000 }, (error, stdout, stderr) =>
      resolve({ code: error?.code ?? 0, signal: error?.signal ?? null, stdout, stderr }),
    );
  });
  t.is(outcome.signal, null, outcome.stderr.slice(0, 2000));
  t.is(outcome.code, 0, outcome.stderr.slice(0, 2000));
  t.is(outcome.stdout.trim(), `terminated ${ROUNDS}`);
});
