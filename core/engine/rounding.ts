/**
 * Round half to even, as Python's round() does on a float: the paper's keep counts use it,
 * so 2.5 -> 2 and 3.5 -> 4. Operates on the float as given, as Python does: 45 * 0.7 is 31.499999999999996 and rounds to 31,
 * 50 * 0.55 is 27.500000000000004 and rounds to 28.
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
