/**
 * Slots 0..n-1 in the order they were last appended, each at most once: a doubly linked list in one Int32Array
 * (links of slot j at 2j and 2j+1, the list's ends at 2n). A prompt run moves a candidate to the end at every
 * dispatch and takes it out at every score: a Set did that by hashing, and grew and rehashed its table as it
 * went, garbage on every candidate's path.
 */
export class SlotQueue {
  /** [next, prev] per slot, then [first, last] of the list; -1 = none, -2 = slot not in the list */
  private readonly links: Int32Array;
  private readonly ends: number;
  private count = 0;

  constructor(readonly capacity: number) {
    this.links = new Int32Array(2 * capacity + 2).fill(-2);
    this.ends = 2 * capacity;
    this.links[this.ends] = -1;
    this.links[this.ends + 1] = -1;
  }

  get size(): number {
    return this.count;
  }

  has(j: number): boolean {
    return j >= 0 && j < this.capacity && this.links[2 * j] !== -2;
  }

  /** Appends slot j, or moves it to the end when it is in the list already. */
  moveToEnd(j: number): void {
    this.delete(j);
    const last = this.links[this.ends + 1] as number;
    this.links[2 * j] = -1;
    this.links[2 * j + 1] = last;
    if (last >= 0) this.links[2 * last] = j;
    else this.links[this.ends] = j;
    this.links[this.ends + 1] = j;
    this.count++;
  }

  /** Takes slot j out; false when it was not in the list. */
  delete(j: number): boolean {
    if (!this.has(j)) return false;
    const next = this.links[2 * j] as number;
    const prev = this.links[2 * j + 1] as number;
    if (prev >= 0) this.links[2 * prev] = next;
    else this.links[this.ends] = next;
    if (next >= 0) this.links[2 * next + 1] = prev;
    else this.links[this.ends + 1] = prev;
    this.links[2 * j] = -2;
    this.links[2 * j + 1] = -2;
    this.count--;
    return true;
  }

  /** The first slot, or -1 when the list is empty. */
  first(): number {
    return this.links[this.ends] as number;
  }

  /** The slot after j, or -1 (j must be in the list). */
  after(j: number): number {
    return this.links[2 * j] as number;
  }

  clear(): void {
    this.links.fill(-2, 0, this.ends);
    this.links[this.ends] = -1;
    this.links[this.ends + 1] = -1;
    this.count = 0;
  }
}
