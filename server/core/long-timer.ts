/**
 * A timer for a moment that may be weeks away. setTimeout fires at once for delays over
 * 2^31-1 ms (~24.8 days) with a warning, so a longer wait is re-armed in steps, each checking the
 * wall clock again. Unref'd: such a timer never holds the process open.
 */

/** setTimeout's limit (2^31-1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/** Calls `fire` once `Date.now()` reaches `atMs` (at once if it has); returns the cancel function. */
export function callAt(atMs: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (): void => {
    if (cancelled) return;
    const waitMs = atMs - Date.now();
    if (waitMs <= 0) {
      timer = undefined;
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(waitMs, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
    timer = undefined;
  };
}
