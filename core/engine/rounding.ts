/**
 * Round half to even, as Python's round() does on a float: the paper's keep counts use it,
 * so 2.5 -> 2 and 3.5 -> 4. Operates on the float as given (0.35 * 10 is 3.4999... and rounds to 3, as in Python).
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
