// The process's peak resident set (VmHWM) in MB; imported with `node --import` it prints the peak on
// stderr at exit ("peak-rss-mb N"), so a bench can read the CLI's peak without changing the CLI.
import { readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function peakRssMb(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export const PEAK_RSS_TAG = 'peak-rss-mb';

// Loaded by --import (not as a module of the worker): report at exit.
if (process.execArgv.some((a) => a.includes(fileURLToPath(import.meta.url)))) {
  process.on('exit', () => { writeSync(2, `\n${PEAK_RSS_TAG} ${peakRssMb()}\n`); });
}
