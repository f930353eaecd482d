import { Heap } from './heap.js';
import type { JobWork } from './work.js';
import type { JobRecord } from './types.js';

/**
 * A queued job's place changes every time anyone's job starts: re-showing it at the normal progress pace would
 * edit every waiting reply every few seconds in a long queue. Its place is refreshed this many times less often.
 */
const QUEUE_PROGRESS_FACTOR = 3;
/**
 * Further back in a long queue, the place is refreshed less often still: once more slowly per this many places
 * ahead. A member at place 200 learns nothing from an edit every few seconds, and a burst of thousands would
 * otherwise spend most of the bot's Discord traffic and CPU re-rendering places.
 */
const QUEUE_PROGRESS_PLACES = 25;
/** A long queue's places are worked out at most this often (each time costs O(n log n) in the queue's length). */
const PLACES_MIN_AGE_MS = 100;

/** How many times the queue's progress pace a waiting job's place is refreshed at: slower further back. */
function placeFactor(position: number): number {
  return QUEUE_PROGRESS_FACTOR * Math.max(1, Math.ceil(position / QUEUE_PROGRESS_PLACES));
}

/** A queued job, by when its place is next worth looking at. */
interface PlaceLook {
  job: JobRecord;
  at: number;
}

/** What the places need from the scheduler: its queue, its fair order over it, and a way to run an edit. */
export interface QueueSource {
  /** Every queued job that is not busy. */
  readonly queued: ReadonlySet<JobRecord>;
  /** 1-based places of the queued jobs, by job id, in the order the fair pick would send them. */
  positions(): Map<string, number>;
  /** Runs the edit that shows a job its new place (as one of the job's tasks). */
  showPlace(job: JobRecord, position: number): void;
}

/**
 * The places members waiting in the bot's queue see. Each queued job is looked at when its edit can next be due:
 * the progress pace times its place's factor after its last edit, or — when the text would not change — once the
 * places are worked out again (a waiting job's text changes only with its place). Working the places out again
 * looks at every waiting job anew.
 */
export class QueuePlaces {
  /** The queue's places, worked out at most once per progress interval. */
  private places: { at: number; positions: Map<string, number> } | undefined;
  private looks = new Heap<PlaceLook>((a, b) => a.at - b.at);
  /** Each job's current look (an entry that is not is dropped when it comes out). */
  private readonly lookOf = new Map<string, PlaceLook>();
  /** Jobs whose line changed with Luma's state (down, back): shown again whatever their place. */
  private readonly restated = new Set<string>();

  constructor(
    private readonly rt: Pick<JobWork, 'progressWait' | 'config'>,
    private readonly source: QueueSource,
  ) {}

  /** A job joined the queue (or is back in it): its place is looked at when its progress pace says. */
  queued(job: JobRecord, now: number): void {
    const wait = this.rt.progressWait(job, now, QUEUE_PROGRESS_FACTOR);
    if (wait !== Infinity) this.lookAt(job, now + wait);
  }

  /** The job is out of the queue (its task started, or it left). */
  forget(job: JobRecord): void {
    this.lookOf.delete(job.id);
    this.restated.delete(job.id);
  }

  /**
   * Every waiting job's line changed (Luma went down, or came back): each is shown again at the progress pace,
   * whatever its place — a member far back in the queue learns it as soon as one near the front.
   */
  restate(now: number): void {
    for (const job of this.source.queued) {
      this.restated.add(job.id);
      const wait = this.rt.progressWait(job, now);
      if (wait !== Infinity) this.lookAt(job, now + wait);
    }
  }

  /** Edits the place shown to each waiting member whose edit is due and whose text changed; returns when to look again. */
  show(now: number): number {
    const due = this.dueLooks(now);
    if (due.length > 0) {
      const before = this.places;
      const positions = this.positions(now, due);
      if (!positions) {
        for (const job of due) this.lookAt(job, now + PLACES_MIN_AGE_MS);
      } else {
        if (this.places !== before) {
          this.lookAgain(now, positions, new Set(due));
          due.push(...this.dueLooks(now));
        }
        for (const job of due) this.showOne(now, job, positions);
      }
    }
    return this.top()?.at ?? Infinity;
  }

  private showOne(now: number, job: JobRecord, positions: ReadonlyMap<string, number>): void {
    const rt = this.rt;
    const position = positions.get(job.id);
    if (position === undefined) return this.lookAt(job, now + PLACES_MIN_AGE_MS);
    const restated = this.restated.has(job.id);
    const wait = rt.progressWait(job, now, restated ? 1 : placeFactor(position));
    if (wait === Infinity) return; // no usable token: nothing more to show
    if (wait > 0) return this.lookAt(job, now + wait);
    // A waiting job's line changes only with its place, and with Luma's state.
    if (position !== job.progress.position || restated) {
      this.restated.delete(job.id);
      this.source.showPlace(job, position);
      return;
    }
    this.lookAt(job, (this.places?.at ?? now) + this.maxAgeMs());
  }

  private lookAt(job: JobRecord, at: number): void {
    const entry = { job, at };
    this.lookOf.set(job.id, entry);
    this.looks.push(entry);
  }

  /** The first look that is still its job's current one (older ones are dropped on the way). */
  private top(): PlaceLook | undefined {
    for (let top = this.looks.peek(); top; top = this.looks.peek()) {
      if (this.lookOf.get(top.job.id) === top) return top;
      this.looks.pop();
    }
    return undefined;
  }

  /** The queued jobs whose place is due a look now (taken off the heap). */
  private dueLooks(now: number): JobRecord[] {
    const due: JobRecord[] = [];
    for (let top = this.top(); top && top.at <= now; top = this.top()) {
      this.looks.pop();
      this.lookOf.delete(top.job.id);
      due.push(top.job);
    }
    return due;
  }

  /** Places changed: every waiting job (but `except`) is next looked at when its new place's pace says. */
  private lookAgain(now: number, positions: ReadonlyMap<string, number>, except: ReadonlySet<JobRecord>): void {
    this.looks = new Heap<PlaceLook>((a, b) => a.at - b.at);
    this.lookOf.clear();
    for (const job of this.source.queued) {
      if (except.has(job)) continue;
      const position = positions.get(job.id);
      const factor = this.restated.has(job.id) ? 1 : position === undefined ? QUEUE_PROGRESS_FACTOR : placeFactor(position);
      const wait = this.rt.progressWait(job, now, factor);
      if (wait !== Infinity) this.lookAt(job, now + wait);
    }
  }

  private maxAgeMs(): number {
    return Math.max(500, this.rt.config.progressIntervalMs);
  }

  /**
   * Places in the queue, for the jobs due an edit. Worked out again when the last answer is older than a progress
   * interval, or when one of `due` joined the queue since (a new job shows its place at once) — but in a long queue
   * not more than once per PLACES_MIN_AGE_MS: undefined means "ask again after that".
   */
  private positions(now: number, due: readonly JobRecord[]): Map<string, number> | undefined {
    const places = this.places;
    if (places) {
      const age = now - places.at;
      const stale = age >= this.maxAgeMs() || due.some((j) => !places.positions.has(j.id));
      if (!stale) return places.positions;
      // Each working-out costs about a pass over the queue: a long queue is worked out less often (a short one at once).
      if (age < Math.min(PLACES_MIN_AGE_MS, places.positions.size / 20)) return undefined;
    }
    const positions = this.source.positions();
    this.places = { at: now, positions };
    return positions;
  }
}
