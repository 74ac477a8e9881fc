// The autograd tape: ops append a node (output, inputs, the tensors its backward reads, backward
// closure) while grad is enabled; backward() walks it in reverse, then frees every activation
// created since the last backward, so a training loop's memory stays flat without waiting on the
// garbage collector. Between the two, forwardBlock() releases at once the values that no backward
// reads (what PyTorch's reference counting does), so the forward's peak is the saved tensors only.
import type { Tensor } from './tensor.js';

interface Node {
  op: string;
  out: Tensor;
  inputs: readonly Tensor[];
  backward: () => void;
}

let gradEnabled = true;
let tape: Node[] = [];
/** Activations and views created since the last backward / scope end, in creation order. */
let live: Tensor[] = [];

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs fn without recording: no tape nodes, outputs do not require grad. Every activation fn
 * creates is freed when it returns, except the tensors it returns (a tensor or an array of them);
 * callers copy out what else they need (`.item()`, `.data.slice()`).
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  const mark = live.length;
  gradEnabled = false;
  let out: T | undefined;
  try {
    out = fn();
    return out;
  } finally {
    gradEnabled = prev;
    releaseLive(tensorsOf(out), mark);
  }
}

/** The tensors (and the owners of views) among a noGrad result, which outlive its scope. */
function tensorsOf(out: unknown): Set<Tensor> {
  const keep = new Set<Tensor>();
  for (const t of Array.isArray(out) ? out : [out]) {
    if (t !== null && typeof t === 'object' && 'owner' in t && 'dispose' in t) keep.add(t as Tensor).add((t as Tensor).owner);
  }
  return keep;
}

export function track(t: Tensor): void {
  live.push(t);
}

/** Whether an op over these inputs must record a node (and its output require grad). */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

/**
 * Records an op's backward; a no-op unless grad is enabled and some input requires grad.
 * `saves` lists every tensor whose values the backward closure reads (inputs, the output, or
 * statistics the op made): they outlive the forward block; everything else may be released.
 */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], saves: readonly Tensor[], backward: () => void): void {
  if (!needsGrad(inputs)) return;
  out.requiresGrad = true;
  for (const t of saves) if (t.owner.kind === 'activation') t.owner.savedBy++; // leaves are never released
  tape.push({ op, out, inputs, backward });
}

/**
 * Runs one forward block (a transformer layer) and then releases the values of every activation
 * it created that no recorded backward reads, or that backward can recompute cheaply from what it
 * keeps (Tensor.recomputableFrom), except the block's result. The tensors stay on the tape, so
 * gradients still flow through them; under noGrad this frees every intermediate.
 */
export function forwardBlock<T extends Tensor>(fn: () => T): T {
  const mark = live.length;
  const out = fn();
  const keep = out.owner;
  for (let i = mark; i < live.length; i++) {
    const t = live[i];
    if (t.base !== null || t === keep) continue;
    if (t.savedBy === 0) t.releaseData();
    else t.releaseRecomputable();
  }
  return out;
}

/** Told, during a backward, when each trainable parameter's gradient is complete (PyTorch DDP's autograd hooks). */
export interface GradReadyHook {
  /** Every op that reads param has run its backward: nothing adds to param.grad in this backward any more. */
  ready(param: Tensor): void;
  /** Called after each op's backward (lets started communication progress). */
  afterOp(): void;
}

let gradReadyHook: GradReadyHook | null = null;

/** Runs fn (which calls backward) with hook told of finished parameter gradients; nested backwards (checkpointing) are not reported. */
export function withGradReadyHook<T>(hook: GradReadyHook, fn: () => T): T {
  const prev = gradReadyHook;
  gradReadyHook = hook;
  try {
    return fn();
  } finally {
    gradReadyHook = prev;
  }
}

/** Per tape index, the parameters whose earliest reader is that node: walking backward, their gradient is final after it. */
function gradReadyAt(): Map<number, Tensor[]> {
  const seen = new Set<Tensor>(), at = new Map<number, Tensor[]>();
  tape.forEach((node, i) => {
    for (const t of node.inputs) {
      if (t.kind !== 'param' || !t.requiresGrad || seen.has(t)) continue;
      seen.add(t);
      at.set(i, [...(at.get(i) ?? []), t]);
    }
  });
  return at;
}

export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new Error(`backward: the loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
  if (!loss.requiresGrad) throw new Error('backward: the loss does not depend on any tensor that requires grad');
  const hook = gradReadyHook;
  gradReadyHook = null; // a checkpointed block's inner backward is part of this one's op
  const readyAt = hook ? gradReadyAt() : null;
  loss.gradBuffer()[0] = 1;
  try {
    walkBackward(loss, hook, readyAt);
  } finally {
    gradReadyHook = hook;
  }
}

function walkBackward(loss: Tensor, hook: GradReadyHook | null, readyAt: Map<number, Tensor[]> | null): void {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.out.grad) {
      try {
        node.backward();
      } catch (e) {
        throw new Error(`Error in gradient for op ${node.op}: ${(e as Error).message}`);
      }
    }
    if (hook) {
      for (const p of readyAt!.get(i) ?? []) hook.ready(p);
      hook.afterOp();
    }
    // Every consumer of node.out was recorded after it, so its backward has run: the output and its
    // gradient are needed by nobody now. Freeing them here (as PyTorch frees saved tensors) keeps the
    // peak near the forward's activations instead of activations plus every intermediate gradient.
    if (node.out !== loss) node.out.dispose();
  }
  tape = [];
  releaseLive(new Set([loss]));
}

function releaseLive(keep: Set<Tensor>, from = 0): void {
  if (from > live.length) return; // fn ran a backward or releaseAll, which freed past the mark
  const kept: Tensor[] = [];
  for (let i = from; i < live.length; i++) {
    const t = live[i];
    if (keep.has(t)) kept.push(t);
    else t.dispose();
  }
  live.length = from;
  live.push(...kept);
}

/** Frees every tracked activation and clears the tape: a recorded forward that will have no backward. */
export function releaseAll(): void {
  tape = [];
  releaseLive(new Set());
}

/** Bytes of activation values held now (views and released values excluded; gradients not counted). */
export function liveActivationBytes(): number {
  let bytes = 0;
  for (const t of live) if (t.resident) bytes += t.size * 4;
  return bytes;
}

export function liveCount(): number {
  return live.length;
}


/**
 * Runs fn on a tape and activation list of its own, then frees what it made and restores the
 * outer ones: gradient checkpointing recomputes a block's forward and backward inside backward().
 */
export function onOwnTape<T>(fn: () => T): T {
  const outerTape = tape, outerLive = live, outerGrad = gradEnabled;
  tape = [];
  live = [];
  gradEnabled = true;
  try {
    return fn();
  } finally {
    releaseAll();
    tape = outerTape;
    live = outerLive;
    gradEnabled = outerGrad;
  }
}
