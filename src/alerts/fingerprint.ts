/**
 * Alert fingerprints as Prometheus and Alertmanager compute them
 * (`model.LabelSet.Fingerprint`): FNV-1a 64 over the label names in sorted order,
 * each name and value followed by the byte 0xff, printed as 16 hex digits.
 */
const OFFSET64 = 0xcbf29ce484222325n;
const PRIME64 = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const SEPARATOR = 0xff;

/** The fingerprint of a label set (same value as Alertmanager's `fingerprint`). */
export function alertFingerprint(labels: Readonly<Record<string, string>>): string {
  let hash = OFFSET64;
  const add = (byte: number): void => {
    hash ^= BigInt(byte);
    hash = (hash * PRIME64) & MASK64;
  };
  for (const name of Object.keys(labels).sort(compareBytes)) {
    for (const byte of Buffer.from(name, 'utf8')) add(byte);
    add(SEPARATOR);
    for (const byte of Buffer.from(labels[name], 'utf8')) add(byte);
    add(SEPARATOR);
  }
  return hash.toString(16).padStart(16, '0');
}

/** Go sorts strings by bytes; for label names (ASCII) that is code-unit order. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy of the labels with keys in sorted order (stable JSON, readable payloads). */
export function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels).sort(compareBytes)) out[name] = labels[name];
  return out;
}
