import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotQueue } from '../../../coordinator/slot-queue.js';

/** The slots in list order, by first() and after(). */
function order(q: SlotQueue): number[] {
  const out: number[] = [];
  for (let j = q.first(); j >= 0; j = q.after(j)) out.push(j);
  return out;
}

describe('SlotQueue', () => {
  it('keeps slots in the order last appended; delete and clear take them out', () => {
    const q = new SlotQueue(5);
    expect(order(q)).toEqual([]);
    expect(q.first()).toBe(-1);
    for (const j of [3, 0, 4]) q.moveToEnd(j);
    expect(order(q)).toEqual([3, 0, 4]);
    q.moveToEnd(3);
    expect(order(q)).toEqual([0, 4, 3]);
    expect(q.delete(4)).toBe(true);
    expect(q.delete(4)).toBe(false);
    expect(q.delete(1)).toBe(false);
    expect([q.size, q.has(0), q.has(4), q.has(-1), q.has(5)]).toEqual([2, true, false, false, false]);
    expect(order(q)).toEqual([0, 3]);
    q.clear();
    expect([order(q), q.size, q.has(0)]).toEqual([[], 0, false]);
    q.moveToEnd(2);
    expect(order(q)).toEqual([2]);
  });

  it('orders as a Set that re-adds a slot to move it to the end (random operations)', () => {
    const op = fc.record({ kind: fc.constantFrom('move', 'delete', 'clear'), slot: fc.integer({ min: 0, max: 15 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new SlotQueue(16);
        const ref = new Set<number>();
        for (const { kind, slot } of ops) {
          if (kind === 'move') {
            q.moveToEnd(slot);
            ref.delete(slot);
            ref.add(slot);
          } else if (kind === 'delete') expect(q.delete(slot)).toBe(ref.delete(slot));
          else if (slot === 0) {
            q.clear();
            ref.clear();
          }
        }
        expect(order(q)).toEqual([...ref]);
        expect(q.size).toBe(ref.size);
      }),
    );
  });
});
