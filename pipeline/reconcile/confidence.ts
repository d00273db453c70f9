/**
 * What a random sample of a target's records proves (reconcile with `sample`): with n records sampled out of
 * N and k found differing, the upper bound of the difference rate at 95% confidence. For k = 0 it is exact
 * (Clopper-Pearson): 1 - 0.05^(1/n), about 3/n ("the rule of three"); for k > 0 the Wilson score bound.
 * Sampling without replacement from a finite N only tightens it, so the bound holds for any N.
 */
export interface SampleConfidence {
  sampled: number;
  population: number;
  found: number;
  /** 95% upper bound on the share of records that differ (0..1). */
  upperBound: number;
  /** The same in words, for the report. */
  note: string;
}

const Z95 = 1.959964;

export function upperBound95(sampled: number, found: number): number {
  if (sampled <= 0) return 1;
  if (found <= 0) return 1 - 0.05 ** (1 / sampled);
  const p = found / sampled;
  const z2 = Z95 * Z95;
  const centre = p + z2 / (2 * sampled);
  const spread = Z95 * Math.sqrt((p * (1 - p)) / sampled + z2 / (4 * sampled * sampled));
  return Math.min(1, (centre + spread) / (1 + z2 / sampled));
}

const percent = (x: number) => `${(x * 100).toFixed(x < 0.001 ? 3 : 2)}%`;

export function sampleConfidence(sampled: number, population: number, found: number): SampleConfidence {
  // A sample of everything is a full check: what it found is exact.
  const upperBound = sampled >= population && population > 0 ? found / population : upperBound95(sampled, found);
  const rounded = Math.round(upperBound * 1e6) / 1e6;
  const note =
    sampled >= population
      ? `all ${population} records checked: ${found} differ`
      : `${found} of ${sampled} sampled (of ${population}) differ: at most ${percent(upperBound)} of the records differ, at 95% confidence`;
  return { sampled, population, found, upperBound: rounded, note };
}
