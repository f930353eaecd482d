// How many results move (download from Luma, upload to Discord) at once: as many as fit in a budget of bytes held,
// not a fixed count — hundreds of small results move together while a few huge ones are still bounded.
//
// A transfer's size is known only once its download answers, and the engine admits transfers in a synchronous
// pass. So a transfer is admitted against an estimate — the largest result seen lately — and its reservation is
// corrected to the real size as soon as the download has it. A result bigger than the estimate can push the
// bytes held past the budget by its excess, once: the estimate grows with it, so the next admissions wait.

/** Results remembered for the estimate. */
const RECENT = 32;
/** Estimate before any result was seen: a large Luma 2K PNG. */
const FIRST_ESTIMATE_BYTES = 8 * 1024 * 1024;
/** No estimate below this: one result's headers, buffers and message still cost something. */
const MIN_ESTIMATE_BYTES = 64 * 1024;

/** The bytes one admitted transfer holds in the budget until release(). */
export interface TransferReservation {
  /** Corrects the reservation to the result's real size (once the download knows it). */
  resize(bytes: number): void;
  /** Ends the reservation (idempotent). */
  release(): void;
}

export class TransferBudget {
  private held = 0;
  private running = 0;
  private readonly recent: number[] = [];

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
    return {
      resize: (actual) => {
        if (released) return;
        this.held += actual - bytes;
        bytes = actual;
        this.recent.push(actual);
        if (this.recent.length > RECENT) this.recent.shift();
      },
      release: () => {
        if (released) return;
        released = true;
        this.held -= bytes;
        this.running--;
      },
    };
  }
}
