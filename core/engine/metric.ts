/**
 * The paper's budget-utilisation metric. With y0 = best-of-N's mean best reward at the smallest budget and
 * A(m) = the area under (reward_m(B) - y0) over the budget grid by composite Simpson's rule,
 * relative increase = 100 * (A(method) - A(best-of-N)) / A(best-of-N).
 */
export function relativeIncreasePct(budgets: readonly number[], method: readonly number[], bestOfN: readonly number[]): number {
  const y0 = bestOfN[0];
  if (y0 === undefined) throw new RangeError('the budget grid is empty');
  const area = (ys: readonly number[]): number => simpson(ys.map((y) => y - y0), budgets);
  const base = area(bestOfN);
  return (100 * (area(method) - base)) / base;
}

/**
 * Composite Simpson's rule on possibly unequal spacing, as scipy.integrate.simpson (>= 1.11) computes it:
 * pairs of intervals with the three-point formula; with an even number of samples the last interval gets
 * the three-point correction from the last three samples.
 */
export function simpson(y: readonly number[], x: readonly number[]): number {
  const n = y.length;
  if (n !== x.length) throw new RangeError(`simpson: ${n} values against ${x.length} abscissae`);
  if (n < 2) return 0;
  if (n === 2) return ((x[1]! - x[0]!) * (y[0]! + y[1]!)) / 2;
  const odd = n % 2 === 1;
  const last = odd ? n - 1 : n - 2; // index where the paired part ends
  let total = 0;
  for (let i = 0; i + 2 <= last; i += 2) {
    const h0 = x[i + 1]! - x[i]!;
    const h1 = x[i + 2]! - x[i + 1]!;
    const hs = h0 + h1;
    total += (hs / 6) * ((2 - h1 / h0) * y[i]! + ((hs * hs) / (h0 * h1)) * y[i + 1]! + (2 - h0 / h1) * y[i + 2]!);
  }
  if (!odd) {
    const h0 = x[n - 2]! - x[n - 3]!;
    const h1 = x[n - 1]! - x[n - 2]!;
    const alpha = (2 * h1 * h1 + 3 * h0 * h1) / (6 * (h0 + h1));
    const beta = (h1 * h1 + 3 * h0 * h1) / (6 * h0);
    const eta = (h1 * h1 * h1) / (6 * h0 * (h0 + h1));
    total += alpha * y[n - 1]! + beta * y[n - 2]! - eta * y[n - 3]!;
  }
  return total;
}
