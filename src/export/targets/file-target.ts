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
  private size = -1;
  private rotations = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: FileTargetConfig) {
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
    const bytes = Buffer.byteLength(line);
    try {
      if (this.size < 0) {
        await fs.mkdir(this.endpoint, { recursive: true });
        this.size = await fs.stat(file).then(
          (s) => s.size,
          () => 0,
        );
      }
      if (this.size > 0 && this.size + bytes > this.config.maxFileBytes) await this.rotate(file);
      await fs.appendFile(file, line);
      this.size += bytes;
      return { ok: true };
    } catch (error) {
      this.size = -1;
      return { ok: false, kind: 'retryable', error: (error as Error).message, ambiguous: false };
    }
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
