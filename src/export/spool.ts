import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { readBatchHeader } from './wire';

/**
 * The disk spool: batches that no target could take, one file each, in the
 * order they were written, bounded in bytes and age, read back in order by this
 * process or by the next one after a restart.
 *
 * File: `<createdMs, 15 digits>-<pid>-<seq>.spool`, written to a `.tmp` name and
 * renamed, so a crash never leaves a half file under the real name. Content:
 * a 24-byte header (u32 magic "SMSP", u8 version 1, u8 flags (bit0: a send of
 * this batch may already have reached a receiver), u16 reserved, u32 span count,
 * u32 payload length, u32 from, u32 to: the spans of the batch this entry holds)
 * and the batch as the encoder wrote it.
 *
 * One process at a time owns a directory: `spool.lock` holds its pid and a
 * token; a lock whose process is gone is taken over.
 */
export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
}

export interface SpoolEntry {
  name: string;
  bytes: number;
  spans: number;
  createdMs: number;
  ambiguous: boolean;
}

/** A batch read back: its bytes and the span range [from, to) it stands for. */
export interface SpooledBatch {
  bytes: Uint8Array;
  from: number;
  to: number;
}

const MAGIC = 0x50534d53; // "SMSP"
const HEADER = 24;
const SUFFIX = '.spool';
const LOCK = 'spool.lock';

export type SpoolWriteResult = 'ok' | 'full' | 'error';

export class Spool {
  private entries: SpoolEntry[] = [];
  private totalBytes = 0;
  private seq = 0;
  private readonly token = randomBytes(6).toString('hex');
  /** Why the spool cannot be used, when it cannot. */
  unavailable: string | undefined;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  /** Files that could not be read back (spans lost), by span count. */
  corruptSpans = 0;

  private constructor(readonly options: SpoolOptions) {}

  /** Opens (creates) the directory, takes the lock and indexes what a previous process left. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    try {
      await fs.mkdir(options.dir, { recursive: true });
      const owner = await spool.lock();
      if (owner !== undefined) {
        spool.unavailable = `locked by process ${owner}`;
        return spool;
      }
      await spool.scan();
    } catch (error) {
      spool.unavailable = `cannot use ${options.dir}: ${(error as Error).message}`;
    }
    return spool;
  }

  get usable(): boolean {
    return this.unavailable === undefined;
  }

  get batches(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get spans(): number {
    let n = 0;
    for (const e of this.entries) n += e.spans;
    return n;
  }

  oldestCreatedMs(): number | undefined {
    return this.entries[0]?.createdMs;
  }

  /** The oldest entry that is not `exclude`d (in write order). */
  oldest(exclude?: ReadonlySet<string>): SpoolEntry | undefined {
    if (exclude === undefined || exclude.size === 0) return this.entries[0];
    return this.entries.find((e) => !exclude.has(e.name));
  }

  /** Writes a batch; 'full' when it would pass the byte cap. */
  async write(batch: Uint8Array, from: number, to: number, createdMs: number, ambiguous: boolean): Promise<SpoolWriteResult> {
    const spans = to - from;
    if (!this.usable) return 'error';
    const size = HEADER + batch.byteLength;
    if (this.totalBytes + size > this.options.maxBytes) return 'full';
    const name = `${String(Math.max(0, Math.floor(createdMs))).padStart(15, '0')}-${process.pid}-${String(this.seq++).padStart(9, '0')}${SUFFIX}`;
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt8(1, 4);
    header.writeUInt8(ambiguous ? 1 : 0, 5);
    header.writeUInt32LE(spans, 8);
    header.writeUInt32LE(batch.byteLength, 12);
    header.writeUInt32LE(from, 16);
    header.writeUInt32LE(to, 20);
    const file = path.join(this.options.dir, name);
    // Reserve the bytes now: concurrent writes must not pass the cap together.
    this.totalBytes += size;
    try {
      await fs.writeFile(`${file}.tmp`, Buffer.concat([header, batch]));
      await fs.rename(`${file}.tmp`, file);
    } catch (error) {
      this.totalBytes -= size;
      this.fail(error);
      await fs.rm(`${file}.tmp`, { force: true }).catch(() => undefined);
      return 'error';
    }
    this.insert({ name, bytes: size, spans, createdMs, ambiguous });
    return 'ok';
  }

  /** Reads an entry's batch back; undefined (and the file removed) when it is corrupt. */
  async read(entry: SpoolEntry): Promise<SpooledBatch | undefined> {
    let data: Buffer;
    try {
      data = await fs.readFile(path.join(this.options.dir, entry.name));
    } catch (error) {
      this.fail(error);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.forget(entry);
      return undefined;
    }
    const payload = data.byteLength >= HEADER && data.readUInt32LE(0) === MAGIC ? data.subarray(HEADER, HEADER + data.readUInt32LE(12)) : undefined;
    if (payload === undefined || payload.byteLength !== data.readUInt32LE(12) || readBatchHeader(payload) === undefined) {
      this.corruptSpans += entry.spans;
      await this.remove(entry);
      return undefined;
    }
    const from = data.readUInt32LE(16);
    const to = data.readUInt32LE(20);
    const header = readBatchHeader(payload);
    if (header === undefined || from >= to || to > header.spanCount) {
      this.corruptSpans += entry.spans;
      await this.remove(entry);
      return undefined;
    }
    return { bytes: payload, from, to };
  }

  /** Deletes an entry (delivered, expired or corrupt). */
  async remove(entry: SpoolEntry): Promise<void> {
    this.forget(entry);
    await fs.rm(path.join(this.options.dir, entry.name), { force: true }).catch((error) => this.fail(error));
  }

  /** Removes entries older than the age cap; returns them. */
  async expire(now: number): Promise<SpoolEntry[]> {
    const old = this.entries.filter((e) => now - e.createdMs > this.options.maxAgeMs);
    for (const e of old) await this.remove(e);
    return old;
  }

  /** Releases the lock (the files stay for the next process). */
  async close(): Promise<void> {
    if (!this.usable) return;
    try {
      const content = await fs.readFile(path.join(this.options.dir, LOCK), 'utf8');
      if (content === this.lockContent()) await fs.rm(path.join(this.options.dir, LOCK), { force: true });
    } catch {
      // already gone
    }
  }

  private lockContent(): string {
    return `${process.pid}:${this.token}`;
  }

  /** Takes the lock; returns the owner when another live process (or processor) holds it. */
  private async lock(): Promise<string | undefined> {
    const file = path.join(this.options.dir, LOCK);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fs.writeFile(file, this.lockContent(), { flag: 'wx' });
        return undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const content = await fs.readFile(file, 'utf8').catch(() => '');
      const pid = Number(content.split(':')[0]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid === process.pid ? `${pid} (another processor in this process)` : String(pid);
      await fs.rm(file, { force: true });
    }
    return 'unknown';
  }

  private async scan(): Promise<void> {
    const names = await fs.readdir(this.options.dir);
    for (const name of names) {
      if (name.endsWith(`${SUFFIX}.tmp`)) {
        await fs.rm(path.join(this.options.dir, name), { force: true }).catch(() => undefined);
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const createdMs = Number(name.slice(0, 15));
      try {
        const handle = await fs.open(path.join(this.options.dir, name), 'r');
        try {
          const header = Buffer.alloc(HEADER);
          const { bytesRead } = await handle.read(header, 0, HEADER, 0);
          const stat = await handle.stat();
          if (bytesRead < HEADER || header.readUInt32LE(0) !== MAGIC) {
            await fs.rm(path.join(this.options.dir, name), { force: true });
            continue;
          }
          this.entries.push({ name, bytes: stat.size, spans: header.readUInt32LE(8), createdMs: Number.isFinite(createdMs) ? createdMs : stat.mtimeMs, ambiguous: (header.readUInt8(5) & 1) === 1 });
          this.totalBytes += stat.size;
        } finally {
          await handle.close();
        }
      } catch (error) {
        this.fail(error);
      }
    }
    this.entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private insert(entry: SpoolEntry): void {
    const list = this.entries;
    let i = list.length;
    while (i > 0 && list[i - 1].name > entry.name) i--;
    list.splice(i, 0, entry);
  }

  private forget(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) {
      this.entries.splice(i, 1);
      this.totalBytes -= entry.bytes;
    }
  }

  private fail(error: unknown): void {
    this.lastError = (error as Error).message;
    this.lastErrorAt = Date.now();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
