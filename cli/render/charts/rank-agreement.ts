import type { TopLevelSpec } from 'vega-lite';
import { CHART_CONFIG } from './theme.js';

/** How well one scorer's ranking at a step agrees with the final reward's ranking. */
export interface RankAgreementPoint {
  /** e.g. "base reward" or "NARF" */
  readonly scorer: string;
  /** 0-based sampling step */
  readonly step: number;
  /** the agreement, e.g. Spearman's rho or Kendall's tau, averaged over prompts */
  readonly agreement: number;
  /** optional 95 % interval of the average */
  readonly lo?: number;
  readonly hi?: number;
}

/**
 * Rank agreement per step (the NARF evaluation): one line per scorer against the step it scored at, with a
 * band where an interval is given. `metric` names the agreement (the y axis title).
 */
export function rankAgreementSpec(points: readonly RankAgreementPoint[], metric = "Spearman's rho with the final reward"): TopLevelSpec {
  const color = { field: 'scorer', type: 'nominal', title: null } as const;
  const x = { field: 'step', type: 'quantitative', title: 'sampling step scored' } as const;
  const layer: object[] = [
    { mark: { type: 'line', strokeWidth: 2, point: true }, encoding: { x, y: { field: 'agreement', type: 'quantitative', title: metric, scale: { domain: [Math.min(0, ...points.map((p) => p.lo ?? p.agreement)), 1] } }, color } },
  ];
  if (points.some((p) => p.lo !== undefined && p.hi !== undefined)) {
    layer.unshift({ transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    title: { text: 'Rank agreement per step', subtitle: 'how well scoring the Tweedie estimate at a step ranks candidates as the final reward does' },
    width: 480,
    height: 280,
    data: { values: points.map((p) => ({ ...p })) },
    layer,
  } as TopLevelSpec;
}
