// What a user sees of a run: line mode logs about 50 lines with an ETA; the chart smooths the
// train loss over its raw points, marks the step-0 eval as a baseline, and ticks at round numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../../src/train/progress.js';
import { lossChartSvg, niceTicks, smooth } from '../../src/train/chart.js';

test('line mode logs every total/50 steps (and the last) with an ETA', () => {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => { lines.push(s); return true; }) as typeof process.stdout.write;
  try {
    const p = new Progress(1000, true, false);
    p.start(0);
    for (let step = 1; step <= 1000; step++) p.update({ step, loss: 1, lr: 1e-3, tokensPerSec: 10, elapsedS: step / 100, evalLoss: step === 7 ? 2 : undefined });
  } finally {
    process.stdout.write = write;
  }
  assert.equal(lines.length, 51, 'steps 20, 40, ..., 1000 and the eval at step 7');
  assert.match(lines[0], /^step 7\/1000 .* ETA \d+:\d\d eval_loss 2\.0000/);
  assert.match(lines[lines.length - 1], /^step 1000\/1000 .* ETA 0:00/);
});

test('round ticks, debiased smoothing, a smoothed line, the step-0 eval as a dashed baseline, legend above the plot', () => {
  assert.deepEqual(niceTicks(0, 37), [0, 10, 20, 30, 40]);
  assert.deepEqual(niceTicks(2.13, 6.41), [2, 3, 4, 5, 6, 7]);
  assert.deepEqual(smooth([4, 4, 4]), [4, 4, 4]);
  const train = Array.from({ length: 100 }, (_, i) => [i + 1, 5 - i / 40 + (i % 2 ? 0.3 : -0.3)] as [number, number]);
  const svg = lossChartSvg([
    { name: 'train loss', color: '#1f77b4', points: train },
    { name: 'eval loss', color: '#d62728', points: [[0, 5.2], [50, 4.1], [100, 3.6]] },
  ], 't');
  assert.equal((svg.match(/<polyline/g) ?? []).length, 3, 'raw train, smoothed train, eval');
  assert.match(svg, /train loss \(smoothed\)/);
  assert.match(svg, /stroke-dasharray="5 4"/);
  assert.match(svg, /eval loss at step 0 \(baseline\)/);
  const yTicks = [...svg.matchAll(/text-anchor="end" dominant-baseline="middle">([^<]+)</g)].map((m) => Number(m[1]));
  assert.deepEqual(yTicks, [2, 3, 4, 5, 6]);
  // The legend's y is above the plot's top gridline.
  const top = Math.min(...[...svg.matchAll(/<line x1="60" x2="700" y1="([\d.]+)"/g)].map((m) => Number(m[1])));
  const legendY = Number(/<text x="\d+(?:\.\d+)?" y="([\d.]+)">train loss/.exec(svg)![1]);
  assert.ok(legendY < top, `${legendY} < ${top}`);
});
