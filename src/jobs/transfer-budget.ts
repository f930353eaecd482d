// How many results move (download from Luma, upload to Discord) at once: as many as fit in a budget of bytes held,
// not a fixed count — hundreds of small results move together while a few huge ones are still bounded.
//
// A transfer's size is known only once its download answers, and the engine admits transfers in a synchronous
// pass. So a transfer is admitted against an estimate — the largest result seen lately, in whole buffer steps — and
// its reservation is corrected to the real size as soon as the download has it. A result bigger than the estimate
// can push the bytes held past the budget by its excess, once: the estimate grows with it, so the next admissions
// wait.
//
// The bytes themselves come from here too, from a pool that the budget bounds. A result's buffer lives for its whole
// transfer (a second or more), so V8 moves it to the old generation, where it is freed only by a full collection —
// and V8 starts one for outside memory only after some 64 MB more of it. Every buffer dropped while transfers run is
// therefore garbage that stays for a while, and glibc keeps the peak: a pool that gave up buffers whenever fewer
// transfers held it than a moment before, and made new ones a moment later, allocated a new buffer for every other
// result of a burst (1,100 of them for 2,000 results) and kept ~60 MB of dead ones around. So the buffers that
// exist — lent and idle together — stay within the budget, a transfer holds in the budget the buffer it pins (not
// only its result's bytes), and a buffer is given up only to make room for one of another size, or after a few
// seconds without transfers. While results flow, their memory is the budget's, reused: at most TRANSFER_BUDGET_MB.

import { systemClock, type Clock, type Timer } from '../clock.js';

/** Results remembered for the estimate. */
const RECENT = 32;
/** Estimate before any result was seen: a large Luma 2K PNG. */
const FIRST_ESTIMATE_BYTES = 8 * 1024 * 1024;
/** No estimate below this: one result's headers, buffers and message still cost something. */
const MIN_ESTIMATE_BYTES = 64 * 1024;
/** Buffers are made in multiples of this, so results of about one size share them. */
const BUFFER_STEP_BYTES = 64 * 1024;
/** Idle buffers are freed after this long without a transfer. */
const IDLE_FREE_MS = 5_000;

/** A result laid out as its bytes alone. */
const PLAIN: ResultLayout = { size: (bytes) => bytes, view: (backing, bytes) => backing.subarray(0, bytes) };

/** Buffers are made in whole steps: the size of the buffer that holds `bytes`. */
function stepUp(bytes: number): number {
  return Math.max(BUFFER_STEP_BYTES, Math.ceil(bytes / BUFFER_STEP_BYTES) * BUFFER_STEP_BYTES);
}

/**
 * How the delivery side wants a result's bytes laid out in memory: a buffer of `size(bytes)` bytes, of which
 * `view(buffer, bytes)` is the result (room around it lets the upload frame it without a copy).
 */
export interface ResultLayout {
  size(bytes: number): number;
  view(backing: Buffer, bytes: number): Buffer;
}

/** The bytes one admitted transfer holds in the budget until release(). */
export interface TransferReservation {
  /** Corrects the reservation to the result's real size (once the download knows it). */
  resize(bytes: number): void;
  /**
   * A buffer of exactly `bytes` for the result, valid until release(): after it, the memory goes to another
   * transfer. A second call gives up the first buffer.
   */
  buffer(bytes: number): Buffer;
  /** A buffer for a result of `bytes`, laid out as the budget's ResultLayout says (see buffer()). */
  resultBuffer(bytes: number): Buffer;
  /** Ends the reservation (idempotent). */
  release(): void;
}

export class TransferBudget {
  private held = 0;
  private running = 0;
  private readonly recent: number[] = [];
  /** Buffers of finished transfers, for the next ones. */
  private readonly idle: Buffer[] = [];
  private idleBytes = 0;
  /** Bytes of all the buffers that exist, lent and idle: within capacityBytes, but for a result larger than it. */
  private pooledBytes = 0;
  private idleTimer: Timer | undefined;

  /**
   * @param capacityBytes TRANSFER_BUDGET_MB in bytes: the bytes running transfers hold, and the pool of buffers.
   * @param layout how results are laid out in their buffers (default: the bytes alone).
   */
  constructor(
    readonly capacityBytes: number,
    private readonly layout: ResultLayout = PLAIN,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Bytes held by running transfers now. */
  get bytesInFlight(): number {
    return this.held;
  }

  /** Transfers running now. */
  get count(): number {
    return this.running;
  }

  /** Idle buffer bytes kept for the next transfers. */
  get idleBufferBytes(): number {
    return this.idleBytes;
  }

  /** Bytes of the buffers that exist now, lent and idle. */
  get bufferBytes(): number {
    return this.pooledBytes;
  }

  /** Bytes a transfer of unknown size is admitted against: the largest result lately, in whole buffer steps. */
  estimate(): number {
    if (this.recent.length === 0) return Math.min(FIRST_ESTIMATE_BYTES, this.capacityBytes);
    return Math.max(MIN_ESTIMATE_BYTES, ...this.recent);
  }

  /**
   * A reservation when one more transfer fits, else undefined. The first transfer is always admitted, so a result
   * larger than the whole budget still moves (alone).
   */
  tryAdmit(): TransferReservation | undefined {
    let bytes = this.estimate();
    if (this.running > 0 && this.held + bytes > this.capacityBytes) return undefined;
    this.held += bytes;
    this.running++;
    let released = false;
    let owned: Buffer | undefined;
    let asked = 0;
    // A transfer holds its result's bytes in whole buffer steps, or the buffer it pins when that is larger.
    const hold = (next: number) => {
      this.held += next - bytes;
      bytes = next;
    };
    const buffer = (size: number): Buffer => {
      if (released) throw new Error('transfer buffer asked for after the reservation ended');
      if (owned) this.giveBack(owned);
      owned = this.take(size);
      asked = size;
      hold(owned.length);
      return owned.subarray(0, size);
    };
    return {
      resize: (actual) => {
        if (released) return;
        hold(Math.max(stepUp(actual), owned?.length ?? 0));
        this.recent.push(stepUp(Math.max(actual, asked)));
        if (this.recent.length > RECENT) this.recent.shift();
      },
      buffer,
      resultBuffer: (bytes) => this.layout.view(buffer(this.layout.size(bytes)), bytes),
      release: () => {
        if (released) return;
        released = true;
        this.held -= bytes;
        this.running--;
        if (owned) this.giveBack(owned);
        owned = undefined;
      },
    };
  }

  /**
   * The smallest idle buffer that holds `size` bytes without wasting more than half of it, else a new one — after
   * giving up idle buffers (of other sizes) that would take the pool past the budget.
   */
  private take(size: number): Buffer {
    let best = -1;
    this.idle.forEach((b, i) => {
      if (b.length >= size && b.length <= 2 * size + BUFFER_STEP_BYTES && (best < 0 || b.length < (this.idle[best]?.length ?? 0))) best = i;
    });
    const found = best >= 0 ? this.idle.splice(best, 1)[0] : undefined;
    if (found) {
      this.idleBytes -= found.length;
      return found;
    }
    const length = stepUp(size);
    while (this.idle.length > 0 && this.pooledBytes + length > this.capacityBytes) this.drop(this.idle.pop() as Buffer);
    this.pooledBytes += length;
    return Buffer.allocUnsafeSlow(length);
  }

  private giveBack(buffer: Buffer): void {
    // Kept while the pool is within the budget, which the transfers' own holdings keep it in: past it only after a
    // result larger than the estimate, whose buffer then goes.
    if (this.pooledBytes <= this.capacityBytes) {
      this.idle.push(buffer);
      this.idleBytes += buffer.length;
    } else this.pooledBytes -= buffer.length;
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = this.clock
      .setTimeout(() => {
        if (this.running > 0) return; // the last transfer to finish arms it again
        while (this.idle.length > 0) this.drop(this.idle.pop() as Buffer);
      }, IDLE_FREE_MS)
      .unref();
  }

  private drop(idle: Buffer): void {
    this.idleBytes -= idle.length;
    this.pooledBytes -= idle.length;
  }
}
