// Weight prepacking on the CPU, rented before it is bought (the scoring graph's sessions and the
// generation decoder's). onnxruntime's CPU MatMul by default copies every weight into its packed
// layout when a session is created: on the Pythia-160m shape 1.8–2.3 CPU s and a second, anonymous
// copy of the weights (555 MiB resident against 82 MiB with the weights left memory-mapped), ~15 s
// at 1B, while a call without it packs on the fly: ~0.1 CPU s per scoring call (160m, batches of
// ~400 tokens), ~0.05 s per greedy step (160m, 64 rows). A one-off `pipeline score` of a few items
// makes a handful of calls; a full task makes hundreds. So sessions start unpacked and are
// recreated with prepacking after PREPACK_AFTER_RUNS calls: short stages never pay for it, long
// ones pay at most about twice the cheaper choice up front (the ski-rental bound).

export const PREPACK_AFTER_RUNS = 16;

/** Session options with onnxruntime's weight prepacking turned off unless `prepack`. */
export function withPrepacking(base: Record<string, unknown>, prepack: boolean): Record<string, unknown> {
  if (prepack) return base;
  const extra = (base['extra'] ?? {}) as { session?: Record<string, string> };
  return { ...base, extra: { ...extra, session: { ...(extra.session ?? {}), disable_prepacking: '1' } } };
}

/**
 * Sessions created unpacked, recreated (same graph, `create(i, true)`) with prepacking once
 * PREPACK_AFTER_RUNS calls have gone through `use`. Off the CPU there is nothing to switch.
 */
export class RentedSessions<S extends { release?(): Promise<void> }> {
  private runs = 0;
  private inFlight = 0;
  private prepacked: boolean;
  private prepacking: Promise<void> | undefined;

  constructor(
    readonly sessions: S[],
    private readonly create: (i: number, prepack: boolean) => Promise<S>,
    cpu: boolean,
    private readonly after = PREPACK_AFTER_RUNS,
  ) {
    this.prepacked = !cpu;
  }

  /** Whether the sessions now hold prepacked weights (always true off the CPU). */
  get isPrepacked(): boolean {
    return this.prepacked;
  }

  /** Run one call on the sessions, counting it; swaps them for prepacked ones when it is time. */
  async use<T>(fn: (sessions: readonly S[]) => Promise<T>): Promise<T> {
    // Swapped only when no other call is running on the sessions it releases; calls that come
    // meanwhile wait for the swap rather than run on a session about to be released.
    if (!this.prepacked && !this.prepacking && this.runs >= this.after && this.inFlight === 0) {
      this.prepacking = this.prepack().finally(() => {
        this.prepacking = undefined;
      });
    }
    if (this.prepacking) await this.prepacking;
    this.runs++;
    this.inFlight++;
    try {
      return await fn(this.sessions);
    } finally {
      this.inFlight--;
    }
  }

  private async prepack(): Promise<void> {
    for (let i = 0; i < this.sessions.length; i++) {
      const fresh = await this.create(i, true);
      const old = this.sessions[i]!;
      this.sessions[i] = fresh;
      await old.release?.().catch(() => undefined);
    }
    this.prepacked = true;
  }

  async release(): Promise<void> {
    if (this.prepacking) await this.prepacking.catch(() => undefined);
    await Promise.all(this.sessions.map((s) => s.release?.().catch(() => undefined)));
  }
}
