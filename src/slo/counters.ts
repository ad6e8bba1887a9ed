/**
 * Time-slice counters for SLO and rule windows, in one shared Float64Array.
 *
 * A ring is `slots` slices of `sliceMs`; each slot holds its slice index (a tag,
 * -1 when empty) and `stride - 1` counts. The event loop adds to the slot of the
 * current slice; the evaluation worker reads the same memory (a SharedArrayBuffer,
 * so nothing is copied) and sums the slots whose tag lies in a window.
 *
 * Concurrent reads are benign: the event loop writes a slot's counts in metric
 * order (total before bad) and the worker reads them in reverse order, so a
 * reader never sees more bad events than events; a count that lands while the
 * worker reads belongs to the next evaluation.
 */

/** Fine slices serve windows up to one hour, medium up to six hours, coarse the rest. */
export const FINE_SLICE_MS = 10_000;
export const MEDIUM_SLICE_MS = 300_000;
export const COARSE_SLICE_MS = 3_600_000;
export const FINE_SPAN_MS = 3_600_000;
export const MEDIUM_SPAN_MS = 21_600_000;

/** Metric offsets inside a slot. */
export const TAG = 0;
export const TOTAL = 1;
export const BAD = 2;
export const SUM = 3;

export interface RingLayout {
  /** First element of the ring in the arena. */
  offset: number;
  slots: number;
  sliceMs: number;
  /** Elements per slot: the tag and the counts. */
  stride: number;
}

/** The slice length that serves a window: the finest whose ring is not too long. */
export function sliceMsFor(windowMs: number): number {
  if (windowMs <= FINE_SPAN_MS) return FINE_SLICE_MS;
  if (windowMs <= MEDIUM_SPAN_MS) return MEDIUM_SLICE_MS;
  return COARSE_SLICE_MS;
}

/** Slices a window spans (the current, partial slice included). */
export function slicesFor(windowMs: number, sliceMs: number): number {
  return Math.max(1, Math.ceil(windowMs / sliceMs));
}

/** Hands out rings from one arena, then allocates it in shared memory. */
export class RingArena {
  private length = 0;
  private readonly rings: RingLayout[] = [];

  allocate(slots: number, sliceMs: number, stride: number): RingLayout {
    const ring = { offset: this.length, slots, sliceMs, stride };
    this.length += slots * stride;
    this.rings.push(ring);
    return ring;
  }

  /** Bytes the arena takes. */
  get bytes(): number {
    return this.length * 8;
  }

  /** The arena's memory, every tag set to -1 (empty). */
  finish(): Float64Array {
    const buffer = typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(Math.max(8, this.bytes)) : new ArrayBuffer(Math.max(8, this.bytes));
    const data = new Float64Array(buffer);
    for (const ring of this.rings) {
      for (let s = 0; s < ring.slots; s++) data[ring.offset + s * ring.stride + TAG] = -1;
    }
    return data;
  }
}

/**
 * `x` held within the finite doubles: attribute sums saturate at +-Number.MAX_VALUE instead of
 * overflowing to Infinity (and then to NaN, once a negative value meets it).
 */
export function saturate(x: number): number {
  return x > Number.MAX_VALUE ? Number.MAX_VALUE : x < -Number.MAX_VALUE ? -Number.MAX_VALUE : x;
}

/** Adds counts to the slice of `nowMs`, clearing the slot first when it held an older slice. */
export function ringAdd(data: Float64Array, ring: RingLayout, nowMs: number, total: number, bad: number, sum: number): void {
  const index = Math.floor(nowMs / ring.sliceMs);
  const base = ring.offset + (index % ring.slots) * ring.stride;
  if (data[base + TAG] !== index) {
    if (data[base + TAG] > index) return; // a slice newer than the clock: the clock went back; keep the newer data
    for (let m = 1; m < ring.stride; m++) data[base + m] = 0;
    data[base + TAG] = index;
  }
  data[base + TOTAL] += total;
  data[base + BAD] += bad;
  if (ring.stride > SUM) data[base + SUM] = saturate(data[base + SUM] + sum);
}

/** Numbers `ringSums` writes per window: total, bad, sum. */
export const SUMS_STRIDE = 3;

/**
 * Sums a ring over several windows at once. `slices` must be ascending; for window
 * i, `out[outAt + i*SUMS_STRIDE ...]` gets total, bad and sum of its newest slices.
 */
export function ringSums(data: Float64Array, ring: RingLayout, nowMs: number, slices: readonly number[], out: Float64Array, outAt: number): void {
  const now = Math.floor(nowMs / ring.sliceMs);
  let total = 0;
  let bad = 0;
  let sum = 0;
  let w = 0;
  const last = slices.length === 0 ? 0 : slices[slices.length - 1];
  for (let j = 0; j < last && w < slices.length; j++) {
    const index = now - j;
    if (index < 0) break;
    const base = ring.offset + (index % ring.slots) * ring.stride;
    if (data[base + TAG] === index) {
      if (ring.stride > SUM) sum += data[base + SUM];
      bad += data[base + BAD];
      total += data[base + TOTAL];
    }
    while (w < slices.length && slices[w] === j + 1) {
      writeSums(out, outAt + w * SUMS_STRIDE, total, bad, sum);
      w++;
    }
  }
  for (; w < slices.length; w++) writeSums(out, outAt + w * SUMS_STRIDE, total, bad, sum);
}

function writeSums(out: Float64Array, at: number, total: number, bad: number, sum: number): void {
  out[at] = total;
  out[at + 1] = bad;
  out[at + 2] = sum;
}

/**
 * A sliding-window estimate of a ring's total, bad and sum over the `windowMs` up to `nowMs`, for
 * rules whose value scales with the window (request rate, attribute count and sum): the slices
 * inside it count whole, the current (partial) one included, and the oldest by the share of its
 * counted time (since `startMs`) that lies inside the window, as if its spans were spread evenly
 * over it. Off by at most that slice's uneven spread; the ring needs one slot more than
 * `slicesFor(windowMs)`. Writes total, bad, sum to `out[0..2]`.
 */
export function ringEstimate(data: Float64Array, ring: RingLayout, nowMs: number, windowMs: number, startMs: number, out: Float64Array): void {
  const s = ring.sliceMs;
  const from = Math.max(nowMs - windowMs, startMs); // no span was counted before startMs
  const first = Math.floor(from / s);
  const now = Math.floor(nowMs / s);
  let total = 0;
  let bad = 0;
  let sum = 0;
  for (let index = now; index >= first && index > now - ring.slots && index >= 0; index--) {
    const base = ring.offset + (index % ring.slots) * ring.stride;
    if (data[base + TAG] !== index) continue;
    let weight = 1;
    if (index === first) {
      const end = Math.min((index + 1) * s, nowMs);
      const counted = end - Math.max(index * s, startMs);
      if (counted > 0) weight = Math.min(1, (end - from) / counted);
    }
    // bad before total, as in ringSums
    if (ring.stride > SUM) sum += data[base + SUM] * weight;
    bad += data[base + BAD] * weight;
    total += data[base + TOTAL] * weight;
  }
  out[0] = total;
  out[1] = bad;
  out[2] = saturate(sum);
}
