import { readFileSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { decodeBatch, type DecodedSpan } from './decoder';
import { identityOf, processIdentity, sameProcess } from './process-identity';
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
 * One pipeline at a time owns a directory: `spool.lock` holds its pid, the
 * process's identity (`processIdentity`) and the pipeline's token. A lock whose
 * process is gone is taken over, and so is one whose pid now has another
 * identity: this process's (an earlier container, its app PID 1 as well), or
 * another live process's (after a reboot, or the pids wrapped around). The token
 * is the pipeline's, not the worker's: a restarted worker takes its own lock
 * over. A lock of this process and another token belongs to another pipeline
 * (in this thread or another one): it is refused, unless the main thread
 * knows that pipeline has ended (`clearStaleLock`).
 */
export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  maxAgeMs: number;
  /** The owning pipeline's token, written into the lock. */
  lockToken: string;
}

export interface SpoolEntry {
  name: string;
  bytes: number;
  spans: number;
  createdMs: number;
  ambiguous: boolean;
}

/** A batch read back: its bytes, decoded, and the span range [from, to) it stands for. */
export interface SpooledBatch {
  bytes: Uint8Array;
  spans: DecodedSpan[];
  from: number;
  to: number;
}

const MAGIC = 0x50534d53; // "SMSP"
const VERSION = 1;
const HEADER = 24;
/** Offset of the flags byte; bit 0: a send of this batch may already have reached a receiver. */
const FLAGS = 5;
const AMBIGUOUS = 1;
const SUFFIX = '.spool';
const LOCK = 'spool.lock';

export type SpoolWriteResult = 'ok' | 'full' | 'error';

export class Spool {
  private entries: SpoolEntry[] = [];
  private totalBytes = 0;
  private seq = 0;
  /** Why the spool cannot be used, when it cannot. */
  unavailable: string | undefined;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  /** The last lock of another process that this one judged gone and removed (its pid, when readable). */
  lockTakenOver: { pid: number | null; atMs: number } | undefined;
  /** Files that were damaged or vanished (spans lost), by span count. */
  corruptSpans = 0;

  private constructor(readonly options: SpoolOptions) {}

  /** Opens (creates) the directory, takes the lock and indexes what a previous process left. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await spool.acquire();
    return spool;
  }

  /**
   * Takes the directory: creates it, takes the lock, indexes its files. Leaves
   * `unavailable` saying why when it cannot; called again later (a rolling
   * restart: the previous process releases the lock when it ends).
   */
  async acquire(): Promise<void> {
    try {
      await fs.mkdir(this.options.dir, { recursive: true });
      const owner = await this.lock();
      if (owner !== undefined) {
        this.unavailable = `locked by process ${owner}`;
        return;
      }
      await this.scan();
      this.unavailable = undefined;
    } catch (error) {
      this.unavailable = `cannot use ${this.options.dir}: ${(error as Error).message}`;
    }
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

  /** Whether `entry` is still one of the spool's (not removed, nor forgotten as damaged or vanished). */
  holds(entry: SpoolEntry): boolean {
    return this.entries.includes(entry);
  }

  /** The oldest entry that is not `exclude`d (in write order). */
  oldest(exclude?: ReadonlySet<string>): SpoolEntry | undefined {
    if (exclude === undefined || exclude.size === 0) return this.entries[0];
    return this.entries.find((e) => !exclude.has(e.name));
  }

  /** Writes a batch; 'full' when it would pass the byte cap. */
  async write(batch: Uint8Array, from: number, to: number, createdMs: number, ambiguous: boolean): Promise<SpoolWriteResult> {
    const written = await this.writeEntry(batch, from, to, createdMs, ambiguous);
    return typeof written === 'string' ? written : 'ok';
  }

  /** `write`, giving the entry written. */
  async writeEntry(batch: Uint8Array, from: number, to: number, createdMs: number, ambiguous: boolean): Promise<SpoolEntry | 'full' | 'error'> {
    const spans = to - from;
    if (!this.usable) return 'error';
    const size = HEADER + batch.byteLength;
    if (this.totalBytes + size > this.options.maxBytes) return 'full';
    const name = `${String(Math.max(0, Math.floor(createdMs))).padStart(15, '0')}-${process.pid}-${String(this.seq++).padStart(9, '0')}${SUFFIX}`;
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt8(VERSION, 4);
    header.writeUInt8(ambiguous ? AMBIGUOUS : 0, FLAGS);
    header.writeUInt32LE(spans, 8);
    header.writeUInt32LE(batch.byteLength, 12);
    header.writeUInt32LE(from, 16);
    header.writeUInt32LE(to, 20);
    const file = path.join(this.options.dir, name);
    // Reserve the bytes now: concurrent writes must not pass the cap together.
    this.totalBytes += size;
    try {
      await this.writeFile(file, Buffer.concat([header, batch]));
    } catch (error) {
      this.totalBytes -= size;
      this.fail(error);
      await fs.rm(`${file}.tmp`, { force: true }).catch(() => undefined);
      return 'error';
    }
    const entry: SpoolEntry = { name, bytes: size, spans, createdMs, ambiguous };
    this.insert(entry);
    return entry;
  }

  /** Writes to a temporary name and renames; a directory removed meanwhile is made again (and locked again) first. */
  private async writeFile(file: string, data: Buffer): Promise<void> {
    const write = async (): Promise<void> => {
      await fs.writeFile(`${file}.tmp`, data);
      await fs.rename(`${file}.tmp`, file);
    };
    try {
      await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await fs.mkdir(this.options.dir, { recursive: true });
      const owner = await this.lock();
      if (owner !== undefined) {
        this.unavailable = `locked by process ${owner}`;
        throw new Error(`${this.options.dir} was removed, and is now locked by process ${owner}`);
      }
      await write();
    }
  }

  /**
   * Reads an entry's batch back, decoded once here: a damaged batch must not
   * reach a target, which would fail on it at every replay. Undefined (and the
   * file removed, its spans counted) when it is corrupt.
   */
  async read(entry: SpoolEntry): Promise<SpooledBatch | undefined> {
    let data: Buffer;
    try {
      data = await fs.readFile(path.join(this.options.dir, entry.name));
    } catch (error) {
      this.fail(error);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // Deleted behind our back: its spans are lost.
        this.corruptSpans += entry.spans;
        this.forget(entry);
      }
      return undefined;
    }
    const batch = parseEntry(data);
    if (batch === undefined) {
      this.corruptSpans += entry.spans;
      await this.remove(entry);
    }
    return batch;
  }

  /** Deletes an entry (delivered, expired or corrupt). */
  async remove(entry: SpoolEntry): Promise<void> {
    this.forget(entry);
    await this.unlink(entry);
  }

  /**
   * Removes entries older than the age cap, except those named in `busy`
   * (being replayed: their outcome decides, and if they stay they expire later); returns them.
   */
  async expire(now: number, busy?: ReadonlySet<string>): Promise<SpoolEntry[]> {
    const old = this.entries.filter((e) => now - e.createdMs > this.options.maxAgeMs && !busy?.has(e.name));
    // Forgotten at once, so that a replay starting meanwhile cannot pick one of them.
    for (const e of old) this.forget(e);
    for (const e of old) await this.unlink(e);
    return old;
  }

  /**
   * Marks an entry's batch as possibly received already, in memory and in its
   * file's header, so that its next sending is counted as a re-send, also by the next process.
   */
  async markAmbiguous(entry: SpoolEntry): Promise<void> {
    if (entry.ambiguous) return;
    entry.ambiguous = true;
    try {
      const handle = await fs.open(path.join(this.options.dir, entry.name), 'r+');
      try {
        const flags = Buffer.alloc(1);
        await handle.read(flags, 0, 1, FLAGS);
        flags[0] |= AMBIGUOUS;
        await handle.write(flags, 0, 1, FLAGS);
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.fail(error);
    }
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
    return `${process.pid}:${processIdentity()}:${this.options.lockToken}`;
  }

  /**
   * Takes the lock; returns the owner when another live process (or processor) holds it.
   * Our own content is a worker of this pipeline that died: the lock is ours.
   */
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
      if (content === this.lockContent()) return undefined;
      const { pid, identity } = parseLock(content);
      if (pid === process.pid) {
        if (identity !== undefined && sameProcess(identity, processIdentity())) return `${pid} (another processor in this process)`;
      } else if (pid !== undefined && isAlive(pid) && !reused(pid, identity)) {
        return String(pid);
      }
      // judged gone: shown in stats(), since a live owner on another host or
      // in another container sharing the volume is judged gone too
      if (content !== '') this.lockTakenOver = { pid: pid ?? null, atMs: Date.now() };
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
          if (!isSpoolHeader(header.subarray(0, bytesRead))) {
            this.corruptSpans += damagedSpans(header.subarray(0, bytesRead));
            await fs.rm(path.join(this.options.dir, name), { force: true });
            continue;
          }
          this.entries.push({ name, bytes: stat.size, spans: header.readUInt32LE(8), createdMs: Number.isFinite(createdMs) ? createdMs : stat.mtimeMs, ambiguous: (header.readUInt8(FLAGS) & AMBIGUOUS) !== 0 });
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

  private async unlink(entry: SpoolEntry): Promise<void> {
    await fs.rm(path.join(this.options.dir, entry.name), { force: true }).catch((error) => this.fail(error));
  }

  private forget(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) {
      this.entries.splice(i, 1);
      this.totalBytes -= entry.bytes;
    }
  }

  /** An error of the spool's work, shown as its `lastError` in stats(). */
  recordError(error: unknown): void {
    this.fail(error);
  }

  private fail(error: unknown): void {
    this.lastError = (error as Error)?.message ?? String(error);
    this.lastErrorAt = Date.now();
  }
}

/**
 * Main thread, before a pipeline starts its worker: removes a lock of this
 * process whose pipeline has ended (`isEnded(token)`: it shut down, or its
 * worker died for good, without releasing it). Only the pipelines of this
 * copy of the module are known here; a lock of any other is left alone.
 * Synchronous, so that the check and the tokens cannot change in between.
 */
export function clearStaleLock(dir: string, isEnded: (token: string) => boolean): void {
  const file = path.join(dir, LOCK);
  try {
    const { pid, identity, token } = parseLock(readFileSync(file, 'utf8'));
    if (pid === process.pid && identity !== undefined && sameProcess(identity, processIdentity()) && isEnded(token)) rmSync(file, { force: true });
  } catch {
    // no lock (or no directory yet): nothing to clear
  }
}

/** `pid:identity:token`; a lock written before the identity (`pid:token`) has none. */
function parseLock(content: string): { pid: number | undefined; identity: string | undefined; token: string } {
  const parts = content.split(':');
  const pid = Number(parts[0]);
  return {
    pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    identity: parts.length >= 3 ? parts[1] : undefined,
    token: parts[parts.length - 1] ?? '',
  };
}

/** A spool file's batch, whole and readable; undefined when anything in it is wrong. */
function parseEntry(data: Buffer): SpooledBatch | undefined {
  if (!isSpoolHeader(data)) return undefined;
  const bytes = data.subarray(HEADER, HEADER + data.readUInt32LE(12));
  const from = data.readUInt32LE(16);
  const to = data.readUInt32LE(20);
  const header = readBatchHeader(bytes);
  if (bytes.byteLength !== data.readUInt32LE(12) || header === undefined || from >= to || to > header.spanCount) return undefined;
  try {
    return { bytes, spans: decodeBatch(bytes).spans, from, to };
  } catch {
    return undefined;
  }
}

/** A complete header of this format's version. */
function isSpoolHeader(data: Buffer): boolean {
  return data.byteLength >= HEADER && data.readUInt32LE(0) === MAGIC && data.readUInt8(4) === VERSION;
}

/**
 * The spans lost with a damaged file: its header's count when that much of it
 * is ours, else 1 (a spool file always holds at least one span).
 */
function damagedSpans(header: Buffer): number {
  const spans = header.byteLength >= 12 && header.readUInt32LE(0) === MAGIC ? header.readUInt32LE(8) : 0;
  return Math.max(1, spans);
}

/**
 * The lock's pid is alive but is another process than the one that wrote it
 * (a reboot, or pids wrapped around): its identity says so, where it can be read.
 */
function reused(pid: number, identity: string | undefined): boolean {
  const current = identity === undefined ? undefined : identityOf(pid);
  return current !== undefined && !sameProcess(identity as string, current);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
