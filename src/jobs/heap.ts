/** A binary min-heap. */
export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l] as T, a[m] as T) < 0) m = l;
      if (r < a.length && this.less(a[r] as T, a[m] as T) < 0) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as T, a[i] as T];
      i = m;
    }
    return top;
  }
}

/** An entry of a TimedFiles heap: a job, and when it is due. */
export interface Timed<J> {
  job: J;
  at: number;
}

/**
 * Jobs filed by when they are due, in one or more heaps, each job in at most one heap at a time. Re-filing a job
 * leaves its old entry in its heap: an entry that is not its job's current one is dropped when it surfaces.
 */
export class TimedFiles<J extends { id: string }> {
  private readonly current = new Map<string, Timed<J>>();

  newHeap(): Heap<Timed<J>> {
    return new Heap<Timed<J>>((a, b) => a.at - b.at);
  }

  file(heap: Heap<Timed<J>>, job: J, at: number): void {
    const entry = { job, at };
    this.current.set(job.id, entry);
    heap.push(entry);
  }

  unfile(job: J): void {
    this.current.delete(job.id);
  }

  /** The first entry of `heap` that is still its job's current one (older ones are dropped on the way). */
  top(heap: Heap<Timed<J>>): Timed<J> | undefined {
    for (let top = heap.peek(); top; top = heap.peek()) {
      if (this.current.get(top.job.id) === top) return top;
      heap.pop();
    }
    return undefined;
  }

  /** Takes `heap`'s current top out (after top() returned it). */
  take(heap: Heap<Timed<J>>): J | undefined {
    const entry = heap.pop();
    if (entry) this.current.delete(entry.job.id);
    return entry?.job;
  }
}
