import { loadBackend, nativeUnavailableReason } from './backend/load';
import type { BackendKind, Histogram } from './backend/types';

/**
 * A standalone HDR histogram (values are integers >= 0; lowest discernible value 1)
 * on the selected back end. Useful to merge or inspect the `histogram` strings of a
 * report.
 */
export function createHistogram(
  options: { significantDigits?: number; highestTrackableValue?: number; backend?: BackendKind | 'auto' } = {},
): Histogram {
  return loadBackend(options.backend).createHistogram(options.significantDigits ?? 3, options.highestTrackableValue ?? 3_600_000_000);
}

/**
 * Decodes HdrHistogram V2 base64, compressed or plain (ours, hdr-histogram-js',
 * Java's or Rust's). Memory follows the encoding, not what its header claims.
 * A histogram with a lowest discernible value above 1, or tracking past
 * 2^53 - 1, is re-recorded with lowest 1 up to 2^53 - 1 (each count at its
 * bucket's lowest value; those above, clamped and counted). Throws
 * `spanmeter: cannot decode histogram: <what is wrong>` for a damaged or
 * unsupported encoding (and, on the JS fallback, a total count past 2^53 - 1).
 */
export function decodeHistogram(base64: string, options: { backend?: BackendKind | 'auto' } = {}): Histogram {
  return loadBackend(options.backend).decodeHistogram(base64);
}

/** Which back end `auto` selects here, and why native is unavailable when it is. */
export function backendInfo(): { selected: BackendKind; nativeAvailable: boolean; reason?: string } {
  const reason = nativeUnavailableReason();
  const selected = loadBackend().kind;
  return reason === undefined ? { selected, nativeAvailable: true } : { selected, nativeAvailable: false, reason };
}
