import { describe, expect, it } from 'vitest';
import { segmentGroups } from '../../../coordinator/placement.js';

type Kind = 'home' | 'new' | 'move';
const a = (name: string, job: string, kind: Kind, step: number, final = false) => ({ name, kind, job: { id: job }, run: { request: { step, final } } });

describe('segmentGroups', () => {
  it('groups by job, kind, step and final stage, in order of first appearance; a move stays alone', () => {
    const list = [a('1', 'j', 'home', 6), a('2', 'j', 'new', 2), a('3', 'j', 'home', 6), a('4', 'k', 'home', 6), a('5', 'j', 'home', 11), a('6', 'j', 'move', 6), a('7', 'j', 'home', 11, true), a('8', 'j', 'new', 2), a('9', 'j', 'move', 6)];
    expect(segmentGroups(list).map((g) => g.map((x) => x.name))).toEqual([['6'], ['9'], ['1', '3'], ['2', '8'], ['4'], ['5'], ['7']]);
  });

  it('passes one assignment, or none, as it is', () => {
    expect(segmentGroups([]).length).toBe(0);
    const one = a('1', 'j', 'move', 2);
    expect(segmentGroups([one])).toEqual([[one]]);
  });
});
