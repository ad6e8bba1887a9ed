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

/** Decodes an HdrHistogram V2 compressed base64 string (ours, hdr-histogram-js', Java's or Rust's). */
export function decodeHistogram(base64: string, options: { backend?: BackendKind | 'auto' } = {}): Histogram {
  return loadBackend(options.backend).decodeHistogram(base64);
}

/** Which back end `auto` selects here, and why native is unavailable when it is. */
export function backendInfo(): { selected: BackendKind; nativeAvailable: boolean; reason?: string } {
  const reason = nativeUnavailableReason();
  const selected = loadBackend().kind;
  return reason === undefined ? { selected, nativeAvailable: true } : { selected, nativeAvailable: false, reason };
}
