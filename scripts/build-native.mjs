// npm's install hook: build the native addon, but never fail the install over it.
// Without the addon gptune runs on the reference backend and says so once at start-up.
import { spawnSync } from 'node:child_process';

if (process.env.GPTUNE_SKIP_NATIVE === '1') {
  console.log('gptune: GPTUNE_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}
const r = spawnSync('node-gyp', ['rebuild', '--jobs=max'], { stdio: 'inherit', shell: true });
if (r.status !== 0) {
  console.warn('gptune: the native addon did not build (see the compiler output above); ' +
    'gptune will run on the slower reference backend. Fix the build and run `npm rebuild gptune`.');
}
