// The loss chart saved next to a run: train and eval loss against the step, as a self-contained SVG.
// Raw points faint with a smoothed line over them (TensorBoard's debiased EMA), the first eval as a
// dashed baseline, ticks at round numbers, and the legend above the plot so it covers no curve.

export interface Series { name: string; color: string; points: Array<[number, number]> }

/** TensorBoard's smoothing: an exponential moving average, debiased so the start is not pulled to 0. */
export function smooth(ys: readonly number[], weight = 0.9): number[] {
  let last = 0, n = 0;
  return ys.map((y) => {
    last = last * weight + (1 - weight) * y;
    n++;
    return last / (1 - weight ** n);
  });
}

/** About `count` ticks at round values (1, 2, 5 x 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1] < hi) out.push(Number((out[out.length - 1] + step).toPrecision(12)));
  return out;
}

export function lossChartSvg(series: Series[], title: string): string {
  const W = 720, H = 400, L = 60, R = 20, T = 58, Bm = 50;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data</text></svg>\n`;
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - Bm);
  const fmt = (v: number) => String(Number(v.toPrecision(6)));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  for (const y of yt) {
    const yy = py(y).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#ddd"/><text x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${fmt(y)}</text>`);
  }
  for (const x of xt) out.push(`<text x="${px(x).toFixed(1)}" y="${H - Bm + 18}" text-anchor="middle">${fmt(x)}</text>`);
  out.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  out.push(`<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">loss</text>`);
  const legend: Array<[string, string, string]> = [];
  for (const s of series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) continue;
    const line = (p: Array<[number, number]>) => p.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    if (pts.length > 1) {
      // Raw points faint, the smoothed line over them (eval points are few: drawn as they are).
      const many = pts.length > 20;
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-opacity="${many ? 0.25 : 1}" stroke-width="1.2" points="${line(pts)}"/>`);
      if (many) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${line(smooth(pts.map(([, y]) => y)).map((y, i) => [pts[i][0], y]))}"/>`);
    }
    for (const [x, y] of pts.length <= 20 ? pts : []) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    legend.push([s.name + (pts.length > 20 ? ' (smoothed)' : ''), s.color, '']);
    if (/eval/.test(s.name) && pts[0][0] === x0) {
      const yy = py(pts[0][1]).toFixed(1);
      out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="${s.color}" stroke-dasharray="5 4" stroke-opacity="0.7"/>`);
      legend.push([`${s.name} at step ${fmt(pts[0][0])} (baseline)`, s.color, '5 4']);
    }
  }
  // The legend sits in a row between the title and the plot: it never covers a curve.
  let lx = L;
  for (const [name, color, dash] of legend) {
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${T - 14}" y2="${T - 14}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${lx + 22}" y="${T - 10}">${escapeXml(name)}</text>`);
    lx += 40 + name.length * 6.5;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
