// Streaming text with stop strings: a stop string may span several tokens, is never shown, and text
// that could still grow into one is held back until it cannot (the prefix `<|im_` of `<|im_end|>`).
// Shared by generate, chat and serve, so each shows exactly the same text.

/** Why generation ended: a stop (EOS id or stop string), max new tokens, or the model's context. */
export type FinishReason = 'stop' | 'length' | 'context';

export interface StopCheck {
  /** Text safe to show so far (grows monotonically across calls). */
  visible: string;
  /** A stop string was reached; `visible` ends just before it. */
  stopped: boolean;
}

/** Index of the earliest stop string in text, or -1. */
export function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    if (s === '') continue;
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest suffix of text that is a proper prefix of some stop string. */
export function heldBackLength(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(s.slice(0, n))) { hold = n; break; }
    }
  }
  return hold;
}

/**
 * What of the decoded text can be shown. Without `final`, a trailing U+FFFD (a multi-byte character
 * still incomplete) and any suffix that may begin a stop string are held back.
 */
export function checkStops(text: string, stops: readonly string[], final = false): StopCheck {
  const cut = firstStop(text, stops);
  if (cut >= 0) return { visible: text.slice(0, cut), stopped: true };
  if (final) return { visible: text, stopped: false };
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0xfffd) end--;
  end -= heldBackLength(text.slice(0, end), stops);
  return { visible: text.slice(0, end), stopped: false };
}

/**
 * Turns the decoded text after each token into the deltas to send: feed it the whole decoded text
 * of the generated ids each time; it remembers what was already sent.
 */
export class StopStream {
  private sent = '';
  stopped = false;
  constructor(readonly stops: readonly string[]) {}

  /** The new text to show after this token ('' while holding back); sets `stopped` on a match. */
  push(text: string): string {
    return this.advance(checkStops(text, this.stops));
  }

  /** Generation ended without a stop string: release what was held back. */
  finish(text: string): string {
    if (this.stopped) return '';
    return this.advance(checkStops(text, this.stops, true));
  }

  /** All text shown so far. */
  get text(): string { return this.sent; }

  private advance(c: StopCheck): string {
    if (c.stopped) this.stopped = true;
    // Text already shown stays shown; a re-decoding that changes it (rare byte merges) appends nothing.
    if (!c.visible.startsWith(this.sent) || c.visible.length <= this.sent.length) return '';
    const delta = c.visible.slice(this.sent.length);
    this.sent = c.visible;
    return delta;
  }
}
