// The autograd tape: ops append a node (output, inputs, backward closure) while grad is enabled;
// backward() walks it in reverse, then frees every activation created since the last backward,
// so a training loop's memory stays flat without waiting on the garbage collector.
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

/** Runs fn without recording: no tape nodes, outputs do not require grad. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function track(t: Tensor): void {
  live.push(t);
}

/** Whether an op over these inputs must record a node (and its output require grad). */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return gradEnabled && inputs.some((t) => t.requiresGrad);
}

/** Records an op's backward; a no-op unless grad is enabled and some input requires grad. */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], backward: () => void): void {
  if (!needsGrad(inputs)) return;
  out.requiresGrad = true;
  tape.push({ op, out, inputs, backward });
}

export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new Error(`backward: the loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
  if (!loss.requiresGrad) throw new Error('backward: the loss does not depend on any tensor that requires grad');
  loss.gradBuffer()[0] = 1;
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.out.grad) {
      try {
        node.backward();
      } catch (e) {
        throw new Error(`Error in gradient for op ${node.op}: ${(e as Error).message}`);
      }
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
  const kept: Tensor[] = [];
  for (let i = from; i < live.length; i++) {
    const t = live[i];
    if (keep.has(t)) kept.push(t);
    else t.dispose();
  }
  live.length = from;
  live.push(...kept);
}

/**
 * Library-internal scope (generation, evaluation): frees the activations fn creates, except the
 * tensors it returns. Not for user code: training steps are freed by backward().
 */
export function scoped<T>(fn: () => T): T {
  const mark = live.length;
  const tapeMark = tape.length;
  const out = fn();
  const keep = new Set<Tensor>();
  for (const t of Array.isArray(out) ? out : [out]) if (t !== null && typeof t === 'object' && 'dispose' in t) keep.add(t as Tensor);
  if (tape.length > tapeMark) throw new Error('scoped: ops inside recorded gradients; run them under noGrad');
  releaseLive(keep, mark);
  return out;
}

/** Frees every tracked activation and clears the tape (e.g. after a forward without backward). */
export function releaseAll(): void {
  tape = [];
  releaseLive(new Set());
}

export function liveCount(): number {
  return live.length;
}

