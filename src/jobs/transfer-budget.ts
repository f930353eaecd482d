// How many results move (download from Luma, upload to Discord) at once: as many as fit in a budget of bytes held,
// not a fixed count — hundreds of small results move together while a few huge ones are still bounded.
//
// A transfer's size is known only once its download answers, and the engine admits transfers in a synchronous
// pass. So a transfer is admitted against an estimate — the largest result seen lately — and its reservation is
// corrected to the real size as soon as the download has it. A result bigger than the estimate can push the
// bytes held past the budget by its excess, once: the estimate grows with it, so the next admissions wait.
//
// The bytes themselves come from here too. A result's buffer lives for its whole transfer (a second or more), so V8
// moves it to the old generation, where it is freed only by a full collection — and V8 starts one for outside
// memory only after some 64 MB more of it. A fresh buffer for every result therefore kept ~100 MB of dead results
// around at any time, and glibc kept the peak. Released buffers are given to the next transfers instead, so while
// results flow the memory they take is the budget's, reused; a few seconds without transfers frees them.

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

/** The bytes one admitted transfer holds in the budget until release(). */
export interface TransferReservation {
  /** Corrects the reservation to the result's real size (once the download knows it). */
  resize(bytes: number): void;
  /**
   * A buffer of exactly `bytes` for the result, valid until release(): after it, the memory goes to another
   * transfer. A second call gives up the first buffer.
   */
  buffer(bytes: number): Buffer;
  /** Ends the reservation (idempotent). */
  release(): void;
}

export class TransferBudget {
  private held = 0;
  private running = 0;
  private readonly recent: number[] = [];
  /** Buffers of finished transfers, for the next ones: with those in use at most capacityBytes. */
  private readonly idle: Buffer[] = [];
  private idleBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  /** @param capacityBytes TRANSFER_BUDGET_MB in bytes: result bytes held by running transfers. */
  constructor(readonly capacityBytes: number) {}

  /** Bytes held by running transfers now. */
  get bytesInFlight(): number {
    return this.held;
  }

  /** Transfers running now. */
  get count(): number {
    return this.running;
  }

  /** Bytes a transfer of unknown size is admitted against. */
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
    return {
      resize: (actual) => {
        if (released) return;
        this.held += actual - bytes;
        bytes = actual;
        this.recent.push(actual);
        if (this.recent.length > RECENT) this.recent.shift();
      },
      buffer: (size) => {
        if (owned) this.giveBack(owned);
        owned = this.take(size);
        return owned.subarray(0, size);
      },
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

  /** Idle buffer bytes kept for the next transfers. */
  get idleBufferBytes(): number {
    return this.idleBytes;
  }

  /** The smallest idle buffer that holds `size` bytes without wasting more than half of it, else a new one. */
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
    return Buffer.allocUnsafeSlow(Math.max(BUFFER_STEP_BYTES, Math.ceil(size / BUFFER_STEP_BYTES) * BUFFER_STEP_BYTES));
  }

  private giveBack(buffer: Buffer): void {
    // Buffers in use and idle ones together stay within the budget; and no more idle bytes than the transfers
    // running now hold plus two more: what the next admissions will ask for, not what the busiest moment needed.
    const keep = Math.min(this.capacityBytes - this.held, this.held + 2 * this.estimate());
    if (this.idleBytes + buffer.length <= keep) {
      this.idle.push(buffer);
      this.idleBytes += buffer.length;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.running > 0) return; // the last transfer to finish arms it again
      this.idle.length = 0;
      this.idleBytes = 0;
    }, IDLE_FREE_MS);
    this.idleTimer.unref();
  }
}
