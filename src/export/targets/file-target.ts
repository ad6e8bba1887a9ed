import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { FileTargetConfig } from '../config';
import { encodeOtlpJson } from '../format/otlp-json';
import type { Payload, SendResult, Target } from './types';

const CURRENT = 'traces.jsonl';

/**
 * OTLP/JSON, one `ExportTraceServiceRequest` a line, appended to
 * `<dir>/traces.jsonl`; when the file would pass `maxFileBytes` it is renamed
 * to `traces-<epoch ms>-<n>.jsonl` and only the newest `maxFiles - 1` rotated
 * files are kept.
 */
export class FileTarget implements Target {
  readonly name: string;
  readonly type = 'file' as const;
  readonly endpoint: string;
  /** Bytes of complete lines in the current file; -1: not known (look again). */
  private size = -1;
  /** A failed append left part of a line after `size` that could not be cut off yet. */
  private partial = false;
  private rotations = 0;
  private chain: Promise<unknown> = Promise.resolve();

  /** `open` is the file system's; a test passes one whose writes fail partway. */
  constructor(
    private readonly config: FileTargetConfig,
    private readonly open: typeof fs.open = fs.open,
  ) {
    this.name = config.name;
    this.endpoint = path.resolve(config.dir);
  }

  send(payload: Payload): Promise<SendResult> {
    // One write at a time, in order.
    const next = this.chain.then(() => this.write(payload));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(payload: Payload): Promise<SendResult> {
    const file = path.join(this.endpoint, CURRENT);
    let line: string;
    try {
      line = `${encodeOtlpJson(payload.bytes, payload.decode().slice(payload.from, payload.to))}\n`;
    } catch (error) {
      return { ok: false, kind: 'bad', error: (error as Error).message, ambiguous: false, notSent: true };
    }
    const data = Buffer.from(line);
    try {
      if (this.size < 0) {
        await fs.mkdir(this.endpoint, { recursive: true });
        await this.openCurrent(file);
      }
      if (this.partial) await this.cutPartial(file);
      if (this.size > 0 && this.size + data.byteLength > this.config.maxFileBytes) await this.rotate(file);
      await this.append(file, data);
      this.size += data.byteLength;
      return { ok: true };
    } catch (error) {
      // Look at the directory and the file again next time, unless a broken line is still to cut off.
      if (!this.partial) this.size = -1;
      return { ok: false, kind: 'retryable', error: (error as Error).message, ambiguous: false };
    }
  }

  /**
   * Appends the whole line, or nothing: a write that fails partway (ENOSPC, EIO)
   * is cut back to the last complete line, so that the retry does not append
   * to half a line (both would be lost to a reader).
   */
  private async append(file: string, data: Buffer): Promise<void> {
    const handle = await this.open(file, 'a');
    try {
      for (let done = 0; done < data.byteLength; ) done += (await handle.write(data, done, data.byteLength - done)).bytesWritten;
    } catch (error) {
      await handle.truncate(this.size).catch(() => {
        this.partial = true; // cut off before the next write
      });
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Takes the current file's size; if it ends in part of a line (a process
   * killed in the middle of an append), ends that line first, so that the next
   * one starts on a line of its own instead of being glued to it (both would
   * be lost to a reader). The broken line stays as it was: only complete lines
   * are read, and the file is only ever appended to (a tail -f keeps its place).
   */
  private async openCurrent(file: string): Promise<void> {
    const size = await fs.stat(file).then(
      (s) => s.size,
      () => 0,
    );
    this.size = size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    const handle = await this.open(file, 'r');
    try {
      await handle.read(last, 0, 1, size - 1);
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (last[0] === 0x0a) return;
    try {
      await this.append(file, Buffer.from('\n'));
    } catch (error) {
      // The newline is written or not: look at the file again next time.
      this.partial = false;
      this.size = -1;
      throw error;
    }
    this.size = size + 1;
  }

  private async cutPartial(file: string): Promise<void> {
    try {
      await fs.truncate(file, this.size);
    } catch (error) {
      // Gone, and its broken line with it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.size = 0;
    }
    this.partial = false;
  }

  private async rotate(file: string): Promise<void> {
    await fs.rename(file, path.join(this.endpoint, `traces-${Date.now()}-${this.rotations++}.jsonl`));
    this.size = 0;
    const rotated = (await fs.readdir(this.endpoint)).filter((n) => /^traces-\d+-\d+\.jsonl$/.test(n));
    rotated.sort((a, b) => {
      const [, ta, na] = /^traces-(\d+)-(\d+)/.exec(a) as RegExpExecArray;
      const [, tb, nb] = /^traces-(\d+)-(\d+)/.exec(b) as RegExpExecArray;
      return Number(ta) - Number(tb) || Number(na) - Number(nb);
    });
    const excess = rotated.length - (this.config.maxFiles - 1);
    for (let i = 0; i < excess; i++) await fs.rm(path.join(this.endpoint, rotated[i]), { force: true });
  }

  async close(): Promise<void> {
    await this.chain;
  }
}
