/** A sealed slice of a rolling window: sorted (index, count) pairs (mirrors native/src/sparse.rs). */
export class SparseSlice {
  indices: Uint32Array;
  counts: Float64Array;
  length: number;

  constructor(
    public sliceIndex: number,
    public count = 0,
    public errors = 0,
    capacity = 0,
  ) {
    this.indices = new Uint32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.length = 0;
  }

  /** Appends an entry; callers append in ascending index order. */
  push(index: number, count: number): void {
    if (this.length === this.indices.length) this.grow(Math.max(8, this.length * 2));
    this.indices[this.length] = index;
    this.counts[this.length] = count;
    this.length++;
  }

  private grow(capacity: number): void {
    const indices = new Uint32Array(capacity);
    const counts = new Float64Array(capacity);
    indices.set(this.indices.subarray(0, this.length));
    counts.set(this.counts.subarray(0, this.length));
    this.indices = indices;
    this.counts = counts;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  /** Adds `other` into this slice (a sorted merge). */
  mergeFrom(other: SparseSlice): void {
    const merged = new SparseSlice(this.sliceIndex, this.count + other.count, this.errors + other.errors, this.length + other.length);
    let a = 0;
    let b = 0;
    while (a < this.length || b < other.length) {
      if (b >= other.length || (a < this.length && this.indices[a] < other.indices[b])) {
        merged.push(this.indices[a], this.counts[a]);
        a++;
      } else if (a >= this.length || other.indices[b] < this.indices[a]) {
        merged.push(other.indices[b], other.counts[b]);
        b++;
      } else {
        merged.push(this.indices[a], this.counts[a] + other.counts[b]);
        a++;
        b++;
      }
    }
    this.indices = merged.indices;
    this.counts = merged.counts;
    this.length = merged.length;
    this.count = merged.count;
    this.errors = merged.errors;
  }

  memoryBytes(): number {
    return 64 + this.indices.byteLength + this.counts.byteLength;
  }
}
