// Counters for /metrics in Prometheus' text format: requests by endpoint and status, tokens in and
// out, queue length, and generated tokens per second over the last few seconds.
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly recent: number[] = []; // timestamps (ms) of recent generated tokens
  constructor(private readonly windowMs = 10_000) {}

  countRequest(endpoint: string, status: number): void {
    const key = `endpoint="${endpoint}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countTokens(n: number, now = Date.now()): void {
    for (let i = 0; i < n; i++) this.recent.push(now);
    this.trim(now);
  }

  tokensPerSecond(now = Date.now()): number {
    this.trim(now);
    return this.recent.length / (this.windowMs / 1000);
  }

  render(g: { promptTokens: number; generatedTokens: number; queued: number; running: number }): string {
    const lines = [
      '# HELP gptune_requests_total HTTP requests by endpoint and status.', '# TYPE gptune_requests_total counter',
      ...[...this.requests].map(([k, v]) => `gptune_requests_total{${k}} ${v}`),
      '# HELP gptune_prompt_tokens_total Prompt tokens prefilled.', '# TYPE gptune_prompt_tokens_total counter',
      `gptune_prompt_tokens_total ${g.promptTokens}`,
      '# HELP gptune_generation_tokens_total Tokens generated.', '# TYPE gptune_generation_tokens_total counter',
      `gptune_generation_tokens_total ${g.generatedTokens}`,
      '# HELP gptune_queue_length Requests waiting for a batch slot.', '# TYPE gptune_queue_length gauge',
      `gptune_queue_length ${g.queued}`,
      '# HELP gptune_running_sequences Sequences in the decode batch.', '# TYPE gptune_running_sequences gauge',
      `gptune_running_sequences ${g.running}`,
      `# HELP gptune_tokens_per_second Generated tokens per second over the last ${this.windowMs / 1000} s.`, '# TYPE gptune_tokens_per_second gauge',
      `gptune_tokens_per_second ${this.tokensPerSecond().toFixed(2)}`,
    ];
    return lines.join('\n') + '\n';
  }

  private trim(now: number): void {
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop] < now - this.windowMs) drop++;
    if (drop) this.recent.splice(0, drop);
  }
}
