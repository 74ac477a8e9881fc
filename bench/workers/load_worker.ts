// Opens one model directory as generate does (openModel, linear weights kept in their stored dtype),
// in its own process so its peak RSS is the load's alone. Directory in argv[2]; one JSON line out.
import { openModel } from '../../src/run/model.js';
import { peakRssMb } from './peak_rss.js';

const t0 = performance.now();
openModel(process.argv[2], { keepStoredDtype: true });
const openS = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ open_s: openS, max_rss_mb: peakRssMb() }));
