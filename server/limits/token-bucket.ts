/**
 * A token bucket: `burst` tokens, refilled at `ratePerSecond`. Pure arithmetic on a clock value,
 * so a refusal costs a subtraction and a comparison — cheap enough to answer a flood with.
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedMs: number;

  constructor(ratePerSecond: number, burst: number, nowMs: number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedMs = nowMs;
  }

  /** Takes one token: 0 when granted, else how long until one is available, ms (at least 1). */
  take(nowMs: number): number {
    this.#refill(nowMs);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#ratePerMs));
  }

  /** True when the bucket is full again: its state is the same as a fresh one's, so it can be dropped. */
  idle(nowMs: number): boolean {
    this.#refill(nowMs);
    return this.#tokens >= this.#burst;
  }

  #refill(nowMs: number): void {
    const elapsed = nowMs - this.#updatedMs;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
      this.#updatedMs = nowMs;
    }
  }
}
