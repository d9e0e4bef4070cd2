// Keeps work in input order with a bounded amount in flight. Each item is started as soon as it is pulled from the
// input (posted to a worker thread, or prepared to run on this one when its turn comes); at most `maxInFlight` items
// are started and not yet handed out, and results come out strictly in the order their items went in. When the input
// itself fails, every result started before the failure comes out first, then the failure. No business rule lives
// here: what a result means is the apply stage's affair (apply-stage.ts).

/** A started item: awaiting it gives its result (a worker's answer, or the work done now on this thread). */
export type Ticket<R> = () => Promise<R>;

/**
 * Results of `start(item)` for every item, in input order. The input is pulled only when fewer than `maxInFlight`
 * items are waiting, so a slow consumer slows the reader (backpressure). Stopping the iteration early (break, a throw
 * in the consumer) stops the input too; tickets never awaited are the caller's to cancel (a pool's close()).
 */
export async function* inOrder<T, R>(items: AsyncIterable<T>, start: (item: T) => Ticket<R>, maxInFlight: number): AsyncGenerator<R> {
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be a whole number >= 1 (got ${maxInFlight})`);
  const waiting: Ticket<R>[] = [];
  const input = items[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await input.next();
      } catch (failure) {
        // what was read before the failure is applied first, as a reader meets it
        while (waiting.length) yield await waiting.shift()!();
        throw failure;
      }
      if (next.done) break;
      waiting.push(start(next.value));
      if (waiting.length >= maxInFlight) yield await waiting.shift()!();
    }
    while (waiting.length) yield await waiting.shift()!();
  } finally {
    await input.return?.();
  }
}
