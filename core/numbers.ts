/**
 * A plain array of the values of a typed array (or any array-like of numbers). Spreading one (`[...ids]`) or
 * Array.from(ids) walks its iterator, which in code V8 has not optimised makes an object per value: on the
 * coordinator's paths that run per stage and prompt, a tenth of all it allocated.
 */
export function numbers(a: ArrayLike<number>): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] as number;
  return out;
}
