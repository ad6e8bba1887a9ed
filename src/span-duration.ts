/**
 * A span's duration in microseconds from its `[seconds, nanoseconds]`: the
 * integer nanoseconds divided once, so that a span lasting exactly a
 * threshold given in nanoseconds (`Math.round(ms * 1e6) / 1e3`) compares
 * equal to it. (`s * 1e6 + ns / 1e3` rounds twice: about 1% of thresholds of
 * a second or more came out 1 ulp below a span of exactly that length.)
 * A missing or malformed duration gives NaN, which the back ends count as invalid.
 */
export function durationUs(duration: unknown): number {
  if (duration == null) return NaN;
  const d = duration as readonly number[];
  return (d[0] * 1e9 + d[1]) / 1e3;
}
