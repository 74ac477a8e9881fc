// Data-parallel training over MPI (as llm.c trains across nodes): every rank holds the whole model,
// takes its rows of each global batch, and gradients are summed over the ranks in buckets that
// overlap with backward (grad_buckets.ts).
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { packagePath } from '../util/package_root.js';
import type { BatchSource, TrainBatch } from './trainer.js';
import { countTargetTokens } from '../data/types.js';

/** The MPI binding of build/Release/gptune_mpi.node (native/src/mpi/mpi_addon.cc). */
interface MpiAddon {
  init(): void;
  rank(): number;
  size(): number;
  /** Sums buf over all ranks, in place. */
  allreduceSum(buf: Float32Array): void;
  /** Starts summing buf over all ranks in place (MPI_Iallreduce); buf is the sum once wait(id) returns. */
  iallreduceSum(buf: Float32Array): number;
  wait(id: number): void;
  /** Moves started requests along (MPI_Test); returns how many still run. */
  progress(): number;
  barrier(): void;
  finalize(): void;
  abort(code: number): never;
}

/** One process's place in a data-parallel job, and the collectives the trainer uses. */
export interface Distributed {
  rank: number;
  size: number;
  /** Rank 0 alone logs, evaluates and writes files. */
  isRoot: boolean;
  allreduceSum(buf: Float32Array): void;
  /** Nonblocking allreduceSum: buf must stay untouched until wait(id). */
  iallreduceSum(buf: Float32Array): number;
  wait(id: number): void;
  /** Lets started requests advance (MPI makes progress only inside its calls); returns how many still run. */
  progress(): number;
  barrier(): void;
  finalize(): void;
  /** Ends the whole job (every rank) with code: one failing rank must not leave the others waiting. */
  abort(code: number): never;
}

/** True when this process was started by mpirun (Open MPI, MPICH / Hydra, or Slurm's PMI). */
export function startedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OMPI_COMM_WORLD_SIZE !== undefined || env.PMI_SIZE !== undefined || env.PMIX_RANK !== undefined;
}

const INSTALL_HINT = 'install MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`) and rebuild the addon (`npm rebuild gptune`)';

let current: Distributed | null | undefined;

/**
 * The MPI job this process belongs to, or null for a single process. Under mpirun (or with
 * `required`, i.e. --distributed) a missing MPI addon is an error saying what to install.
 */
export function distributed(required = false): Distributed | null {
  if (current !== undefined) return current;
  if (!required && !startedByMpi()) return (current = null);
  const path = packagePath('build', 'Release', 'gptune_mpi.node');
  const why = required ? '--distributed was given' : 'this process was started by mpirun';
  if (!existsSync(path)) {
    throw new Error(`${why}, but the MPI addon was not built (${path} is missing, because MPI's headers were not found at install time): ${INSTALL_HINT}`);
  }
  const mod = { exports: {} as MpiAddon };
  try {
    // RTLD_GLOBAL: Open MPI's plugins resolve libmpi's symbols from the global namespace.
    process.dlopen(mod, path, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL);
  } catch (e) {
    throw new Error(`${why}, but the MPI addon at ${path} failed to load (${(e as Error).message}): ${INSTALL_HINT}`);
  }
  const mpi = mod.exports;
  mpi.init();
  const rank = mpi.rank(), size = mpi.size();
  current = {
    rank, size, isRoot: rank === 0,
    allreduceSum: (buf) => mpi.allreduceSum(buf),
    iallreduceSum: (buf) => mpi.iallreduceSum(buf),
    wait: (id) => mpi.wait(id),
    progress: () => mpi.progress(),
    barrier: () => mpi.barrier(),
    finalize: () => mpi.finalize(),
    abort: (code) => mpi.abort(code),
  };
  return current;
}

/**
 * Rank `rank`'s rows of every batch `global` yields: rows split as evenly as possible, in order, so
 * the N shards together are exactly the batch one process would train on (a rank may get 0 rows of a short last batch).
 */
export function shardBatches(global: BatchSource, rank: number, size: number): BatchSource {
  return {
    next: () => shardBatch(global.next(), rank, size),
    state: () => global.state(),
    restore: (s) => global.restore(s),
  };
}

export function shardBatch(b: TrainBatch, rank: number, size: number): TrainBatch {
  const lo = Math.floor((rank * b.batch) / size), hi = Math.floor(((rank + 1) * b.batch) / size);
  const T = b.seqLen, rows = hi - lo;
  const cut = (a: Int32Array) => a.slice(lo * T, hi * T);
  const labels = cut(b.labels);
  return {
    inputIds: cut(b.inputIds), labels, batch: rows, seqLen: T,
    positions: b.positions && cut(b.positions), segments: b.segments && cut(b.segments),
    targetTokens: countTargetTokens(labels, rows, T), firstRow: lo,
  };
}

/** Sums a few numbers over all ranks (token counts stay exact below 2^24 in float32). */
export function allreduceNumbers(d: Distributed, xs: number[]): number[] {
  const buf = Float32Array.from(xs);
  d.allreduceSum(buf);
  return Array.from(buf);
}
