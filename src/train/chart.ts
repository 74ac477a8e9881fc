// The loss chart saved next to a run: train and eval loss against the step, as a self-contained SVG.

export interface Series { name: string; color: string; points: Array<[number, number]> }

export function lossChartSvg(series: Series[], title: string): string {
  const W = 720, H = 400, L = 60, R = 20, T = 40, Bm = 50;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data</text></svg>\n`;
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-6);
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - Bm);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4, yy = py(y).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#ddd"/><text x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${y.toPrecision(3)}</text>`);
    const x = x0 + ((x1 - x0) * i) / 4, xx = px(x).toFixed(1);
    out.push(`<text x="${xx}" y="${H - Bm + 18}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  out.push(`<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">loss</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(pts.length > 1
      ? `<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${d}"/>`
      : `<circle cx="${px(pts[0][0])}" cy="${py(pts[0][1])}" r="3" fill="${s.color}"/>`);
    out.push(`<rect x="${W - R - 130}" y="${T + i * 18}" width="12" height="3" fill="${s.color}"/><text x="${W - R - 112}" y="${T + i * 18 + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
