// binding.gyp asks this where MPI is: `found` prints 1 or 0, `cflags` / `libs` print mpicc's flags.
// Without mpicc (no libopenmpi-dev / libmpich-dev) the MPI addon is simply not built.
import { spawnSync } from 'node:child_process';

const what = process.argv[2];
const showme = (arg) => {
  const r = spawnSync('mpicc', [arg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};
// Open MPI's wrapper says --showme:compile; MPICH's says -compile-info (the flags after the compiler name).
const mpich = (arg) => {
  const r = spawnSync('mpicc', [arg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).slice(1).filter((f) => /^-[ILlW]/.test(f) || f.startsWith('-pthread')).join(' ') : null;
};
const cflags = () => showme('--showme:compile') ?? mpich('-compile-info');
const libs = () => showme('--showme:link') ?? mpich('-link-info');

if (what === 'found') console.log(process.env.GPTUNE_SKIP_MPI !== '1' && cflags() !== null ? '1' : '0');
else if (what === 'cflags') console.log((cflags() ?? '').split(/\s+/).filter((f) => f.startsWith('-I')).map((f) => f.slice(2)).join(' '));
else if (what === 'libs') console.log(libs() ?? '');
else { console.error('usage: mpi-flags.mjs found|cflags|libs'); process.exit(2); }
