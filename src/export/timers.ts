/**
 * Node runs a timer longer than 2^31-1 ms after 1 ms (and warns on stderr each
 * time): a far-off wake-up would become a busy loop. Every delay is capped here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a safe setTimeout delay: within [0, MAX_TIMER_MS]; NaN is 0. */
export function timerDelay(ms: number): number {
  if (ms > MAX_TIMER_MS) return MAX_TIMER_MS;
  return ms > 0 ? ms : 0;
}
