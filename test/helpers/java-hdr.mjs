// HdrHistogram (Java), the library the V2 format comes from, for the interop
// tests: its jar from Maven Central (pinned by SHA-1) and the small tool
// test/fixtures/java/HdrInterop.java compiled against it, both kept in
// .ci/.tools/java/ (git-ignored) and reused.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HDR_JAVA_VERSION = '2.2.2';
const JAR_SHA1 = '7959933ebcc0f05b2eaa5af0a0c8689fa257b15c';
const JAR_URL = `https://repo1.maven.org/maven2/org/hdrhistogram/HdrHistogram/${HDR_JAVA_VERSION}/HdrHistogram-${HDR_JAVA_VERSION}.jar`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tools = path.join(root, '.ci/.tools/java');
const source = path.join(root, 'test/fixtures/java/HdrInterop.java');

/**
 * Fetches and compiles what the tool needs. Resolves to `{ run }`, where
 * `run(mode, args, lines)` feeds `lines` to `java HdrInterop mode ...args` and
 * returns one parsed JSON object per line, or to `{ reason }` saying what is
 * missing (no JDK, Maven Central unreachable).
 */
export async function javaHdr() {
  for (const tool of ['java', 'javac']) {
    const probe = spawnSync(tool, ['-version'], { encoding: 'utf8' });
    if (probe.error) return { reason: `\`${tool}\` is not installed (${probe.error.code})` };
  }
  fs.mkdirSync(tools, { recursive: true });
  const jar = path.join(tools, `HdrHistogram-${HDR_JAVA_VERSION}.jar`);
  if (!fs.existsSync(jar)) {
    const fetched = await fetchJar();
    if (fetched.reason !== undefined) return fetched;
    const bytes = fetched.bytes;
    const sha1 = createHash('sha1').update(bytes).digest('hex');
    if (sha1 !== JAR_SHA1) throw new Error(`${JAR_URL}: SHA-1 ${sha1}, expected ${JAR_SHA1}`);
    // atomic: another test process may be reading it
    const partial = `${jar}.${process.pid}.partial`;
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, jar);
  }
  const digest = createHash('sha1').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const classes = path.join(tools, `classes-${digest}`);
  if (!fs.existsSync(path.join(classes, 'HdrInterop.class'))) {
    const staging = `${classes}.${process.pid}.partial`;
    const compiled = spawnSync('javac', ['-d', staging, '-cp', jar, source], { encoding: 'utf8' });
    if (compiled.status !== 0) throw new Error(`javac failed on ${source}:\n${compiled.stderr}`);
    fs.rmSync(classes, { recursive: true, force: true });
    fs.renameSync(staging, classes);
  }
  const classpath = [classes, jar].join(path.delimiter);
  return {
    run(mode, lines) {
      const result = spawnSync('java', ['-cp', classpath, 'HdrInterop', mode], {
        input: `${lines.join('\n')}\n`,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      if (result.status !== 0) throw new Error(`java HdrInterop ${mode} exited with ${result.status}:\n${result.stderr}`);
      return result.stdout
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => {
          const described = JSON.parse(line);
          // Java prints 50 as "50.0": key them as JS prints numbers, `percentiles[50]`
          described.percentiles = Object.fromEntries(Object.entries(described.percentiles).map(([p, v]) => [String(Number(p)), v]));
          return described;
        });
    },
  };
}

/** The jar's bytes, with three tries (a registry hiccup is not a test failure), or `{ reason }`. */
async function fetchJar() {
  let reason;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await fetch(JAR_URL, { signal: AbortSignal.timeout(60_000) });
      if (response.ok) return { bytes: Buffer.from(await response.arrayBuffer()) };
      reason = `${JAR_URL} answered ${response.status}`;
    } catch (error) {
      reason = `cannot fetch ${JAR_URL}: ${error.cause?.message ?? error.message}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
  }
  return { reason };
}
