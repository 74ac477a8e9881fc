// `npm run bench`: runs every benchmark, prints one table, writes bench/results/<timestamp>.json.
// BENCH_QUICK=1 for a fast smoke run; extra args pick benches by name (npm run bench -- gemm).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchContext, BenchRow } from './harness.js';
import { backend } from '../src/backend/select.js';

type BenchModule = { run(ctx: BenchContext): Promise<BenchRow[]> | BenchRow[] };
const BENCHES: Record<string, () => Promise<BenchModule>> = {
  gemm: () => import('./kernels/gemm.bench.js'),
  attention: () => import('./kernels/attention.bench.js'),
  layernorm: () => import('./kernels/layernorm.bench.js'),
  quantize: () => import('./kernels/quantize.bench.js'),
  model: () => import('./model.bench.js'),
  rss: () => import('./memory.bench.js'),
  tokenizer: () => import('./tokenizer.bench.js'),
  'bpe-train': () => import('./tokenizer_train.bench.js'),
  serve: () => import('./serve.bench.js'),
  decode: () => import('./decode.bench.js'),
  mpi: () => import('./mpi.bench.js'),
  load: () => import('./load.bench.js'),
};

async function main() {
  const wanted = process.argv.slice(2);
  const notices: string[] = [];
  const ctx: BenchContext = { quick: process.env.BENCH_QUICK === '1', notice: (m) => { notices.push(m); console.error('notice: ' + m); } };
  const b = backend();
  console.log(`gptune bench: backend ${b.name}, ${b.threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const rows: BenchRow[] = [];
  for (const [name, load] of Object.entries(BENCHES)) {
    if (wanted.length && !wanted.includes(name)) continue;
    const mod = await load();
    const r = await mod.run(ctx);
    rows.push(...r);
    printRows(r);
  }
  printPeerConfigs(rows);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, backend: b.name, threads: b.threads, rows, notices }, null, 2));
  console.log(`\nwrote ${file}`);
}

/** Which configuration each peer ran in: one line per distinct configuration, keyed by the row's [n]. */
const peerConfigs: string[] = [];
function configRef(r: BenchRow): string {
  if (!r.peerConfig) return '';
  let i = peerConfigs.indexOf(r.peerConfig);
  if (i < 0) i = peerConfigs.push(r.peerConfig) - 1;
  return ` [${i + 1}]`;
}
function printPeerConfigs(rows: BenchRow[]) {
  if (!rows.some((r) => r.peerConfig)) return;
  console.log('\npeer configurations:');
  peerConfigs.forEach((c, i) => console.log(`  [${i + 1}] ${c}`));
}

function printRows(rows: BenchRow[]) {
  for (const r of rows) {
    const ratio = r.peer ? (r.gptune / r.peer).toFixed(2) + 'x' : 'n/a';
    const peer = r.peer === null ? 'skipped' : r.peer.toFixed(1);
    console.log(`${r.bench.padEnd(10)} ${r.case.padEnd(34)} gptune ${r.gptune.toFixed(1).padStart(8)} ${r.unit.padEnd(9)} ` +
      `${r.peerName}${configRef(r)} ${peer.padStart(8)}  ratio ${ratio}${r.note ? '  ' + r.note : ''}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
