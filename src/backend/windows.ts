/**
 * The rolling-window scheme of docs/internals.md (layout v2): four levels of
 * sealed slices, one per window. Shared by the JS back end; native/src mirrors it.
 */
export const SLICE_MS = [10_000, 60_000, 300_000, 900_000] as const;
/** How many sealed slices each level keeps (= slices per window). */
export const RING_KEEP = [6, 5, 3, 4] as const;
export const LEVELS = 4;

export const MASK_LIFETIME = 1;
/** Window bit of level k (1m, 5m, 15m, 1h). */
export const WINDOW_MASKS = [2, 4, 8, 16] as const;

const TWO_POW_53 = 9007199254740992;

/** `nowMs` as the back ends use it (record and snapshot): NaN is 0, values are clamped to ±2^53. */
export function sanitizeNow(nowMs: number): number {
  if (Number.isNaN(nowMs)) return 0;
  return nowMs < -TWO_POW_53 ? -TWO_POW_53 : nowMs > TWO_POW_53 ? TWO_POW_53 : nowMs;
}

/** Current slice index of each level at `nowMs`. */
export function sliceIndices(nowMs: number): number[] {
  return SLICE_MS.map((ms) => Math.floor(nowMs / ms));
}

function within(index: number, now: number, slices: number): boolean {
  return now - slices < index && index <= now;
}

/**
 * Windows that an unsealed piece at `level` with slice index `index` belongs to:
 * `cur` (level 0) or an accumulator (levels 1-3) counts for its own window and
 * every coarser one.
 */
export function maskOfOpen(level: number, index: number, n: readonly number[]): number {
  let mask = 0;
  for (let k = level; k < LEVELS; k++) {
    const mapped = Math.floor((index * SLICE_MS[level]) / SLICE_MS[k]);
    if (within(mapped, n[k], RING_KEEP[k])) mask |= WINDOW_MASKS[k];
  }
  return mask;
}

/** A sealed ring entry counts for its own level's window only. */
export function maskOfSealed(level: number, index: number, n: readonly number[]): number {
  return within(index, n[level], RING_KEEP[level]) ? WINDOW_MASKS[level] : 0;
}
