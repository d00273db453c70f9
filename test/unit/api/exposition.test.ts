import { describe, expect, it } from 'vitest';
import { checkExposition } from './exposition.ts';

describe('the exposition-format checker used on /monitoring/metrics/prometheus', () => {
  it('reads well-formed families, labels with escapes and histograms', () => {
    const samples = checkExposition(
      [
        '# HELP a_total A counter.',
        '# TYPE a_total counter',
        'a_total{entity="x",note="say \\"hi\\"\\n"} 3',
        '# TYPE h histogram',
        'h_bucket{le="1"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 3.5',
        'h_count 2',
        '',
      ].join('\n'),
    );
    expect(samples[0]).toEqual({ name: 'a_total', labels: { entity: 'x', note: 'say "hi"\n' }, value: 3 });
    expect(samples).toHaveLength(5);
  });

  it('rejects what Prometheus would reject', () => {
    expect(() => checkExposition('a 1')).toThrow(/before its TYPE/);
    expect(() => checkExposition('# TYPE a gauge\na{b=1} 1')).toThrow(/labels/);
    expect(() => checkExposition('# TYPE a gauge\na one')).toThrow(/not a sample/);
    expect(() => checkExposition('# TYPE a gauge\n# TYPE a gauge')).toThrow(/twice/);
    expect(() => checkExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1')).toThrow(
      /cumulative/,
    );
    expect(() => checkExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_count 2')).toThrow(/\+Inf/);
  });
});
