/**
 * Span selectors, compiled once: series-level matching (service, name, kind) runs
 * when a series is first seen; attribute matching runs per span, only for the
 * SLOs and rules that name attributes.
 */
import { literalService } from '../config/alert-labels';
import type { SelectorConfig } from '../config/slo-common';
import type { SeriesKey } from '../series-table';

export interface CompiledSelector {
  /** Does a (service, span name, span kind) series fall under this selector? */
  matchesSeries(key: SeriesKey): boolean;
  /** Attribute names and required values; empty when the selector names none. */
  readonly attributes: readonly (readonly [string, string | number | boolean])[];
  /** The selector's service when it is a plain name (no glob), for labels. */
  readonly literalService: string | undefined;
}

export function compileSelector(config: SelectorConfig): CompiledSelector {
  const service = globMatcher(config.service);
  const name = globMatcher(config.spanName);
  const kinds = config.spanKinds;
  return {
    matchesSeries: (key) => service(key.service) && name(key.name) && (kinds.length === 0 || kinds.includes(key.kind)),
    attributes: Object.entries(config.attributes),
    literalService: literalService(config),
  };
}

/**
 * `*` matches any run of characters, `?` one character (UTF-16 code unit); everything else literally.
 * Matching is iterative (no regular expression): at most O(text x glob) steps, never the exponential
 * backtracking of a regex with several `.*`.
 */
export function globMatcher(glob: string): (text: string) => boolean {
  if (glob === '*') return () => true;
  if (!/[*?]/.test(glob)) return (text) => text === glob;
  return (text) => globMatch(glob, text);
}

function globMatch(glob: string, text: string): boolean {
  const STAR = 42; // '*'
  const ANY = 63; // '?'
  let g = 0;
  let t = 0;
  let star = -1; // position of the last `*` seen in the glob
  let resume = 0; // text position that `*` matches up to (exclusive), retried one further on mismatch
  while (t < text.length) {
    const c = g < glob.length ? glob.charCodeAt(g) : -1;
    if (c === STAR) {
      star = g++;
      resume = t;
    } else if (c !== -1 && (c === ANY || c === text.charCodeAt(t))) {
      g++;
      t++;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob.charCodeAt(g) === STAR) g++;
  return g === glob.length;
}

/** True when every required attribute is present with its value. */
export function attributesMatch(required: CompiledSelector['attributes'], attributes: Record<string, unknown> | undefined): boolean {
  if (required.length === 0) return true;
  if (attributes === undefined || attributes === null) return false;
  for (let i = 0; i < required.length; i++) {
    const [key, value] = required[i];
    if (attributes[key] !== value) return false;
  }
  return true;
}
