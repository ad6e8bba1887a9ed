/**
 * The rolling-window scheme of docs/internals.md: three levels of sealed slices.
 * Shared by the JS back end and the report code; native/src/series.rs mirrors it.
 */
export const SLICE_MS = [10_000, 60_000, 300_000] as const;
/** How many sealed slices each level keeps. */
export const RING_KEEP = [6, 15, 12] as const;

export const MASK_LIFETIME = 1;
export const MASK_1M = 2;
export const MASK_5M = 4;
export const MASK_15M = 8;
export const MASK_1H = 16;
/** Window bits in snapshot order (1m, 5m, 15m, 1h). */
export const WINDOW_MASKS = [MASK_1M, MASK_5M, MASK_15M, MASK_1H] as const;

/** Current slice index of each level at `nowMs`. */
export function sliceIndices(nowMs: number): [number, number, number] {
  return [Math.floor(nowMs / SLICE_MS[0]), Math.floor(nowMs / SLICE_MS[1]), Math.floor(nowMs / SLICE_MS[2])];
}

function within(index: number, now: number, slices: number): boolean {
  return now - slices < index && index <= now;
}

/** Windows that data of the current 10 s slice `c0` belongs to. */
export function maskOfCurrent(c0: number, n: readonly number[]): number {
  const l1 = Math.floor(c0 / 6);
  return (
    (within(c0, n[0], 6) ? MASK_1M : 0) |
    (within(l1, n[1], 5) ? MASK_5M : 0) |
    (within(l1, n[1], 15) ? MASK_15M : 0) |
    (within(Math.floor(c0 / 30), n[2], 12) ? MASK_1H : 0)
  );
}

export function maskOfL0(i: number, n: readonly number[]): number {
  return within(i, n[0], 6) ? MASK_1M : 0;
}

export function maskOfAcc1(a1: number, n: readonly number[]): number {
  return (
    (within(a1, n[1], 5) ? MASK_5M : 0) |
    (within(a1, n[1], 15) ? MASK_15M : 0) |
    (within(Math.floor(a1 / 5), n[2], 12) ? MASK_1H : 0)
  );
}

export function maskOfL1(i: number, n: readonly number[]): number {
  return (within(i, n[1], 5) ? MASK_5M : 0) | (within(i, n[1], 15) ? MASK_15M : 0);
}

export function maskOfL2(i: number, n: readonly number[]): number {
  return within(i, n[2], 12) ? MASK_1H : 0;
}
