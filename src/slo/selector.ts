/**
 * Span selectors, compiled once: series-level matching (service, name, kind) runs
 * when a series is first seen; attribute matching runs per span, only for the
 * SLOs and rules that name attributes.
 */
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
    literalService: /[*?]/.test(config.service) ? undefined : config.service,
  };
}

/** `*` matches any run of characters, `?` one character; everything else literally. */
export function globMatcher(glob: string): (text: string) => boolean {
  if (glob === '*') return () => true;
  if (!/[*?]/.test(glob)) return (text) => text === glob;
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${source}$`, 's');
  return (text) => re.test(text);
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
