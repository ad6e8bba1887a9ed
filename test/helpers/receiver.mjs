// A real HTTP receiver on loopback that records webhook POSTs and answers as told.
import * as http from 'node:http';

/**
 * `answer(request, index)` returns a status code, or a promise of one (to hold the
 * response). Every request is recorded with its parsed JSON body.
 */
export async function startReceiver(answer = () => 200) {
  const requests = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const record = { method: req.method, url: req.url, headers: req.headers, body: JSON.parse(text) };
      const index = requests.push(record) - 1;
      for (const w of waiters.splice(0)) w();
      const status = await answer(record, index);
      if (status === 'hang-up') {
        req.socket.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    /** Resolves once `n` requests have arrived. */
    async received(n) {
      while (requests.length < n) await new Promise((resolve) => waiters.push(resolve));
      return requests.slice(0, n);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Polls `predicate` until it holds (a bound on waiting, not a timing assertion). */
export async function eventually(predicate, what = 'condition') {
  for (let i = 0; i < 1000; i++) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}
