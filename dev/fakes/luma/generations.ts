// The fake Luma's generations: what was asked, the plan each one follows, and its state — derived from the clock on
// demand (no timers), so a hand-driven clock moves every generation along.
import { createHash, randomBytes } from 'node:crypto';

import type { FailureCode, GenerationRequest, GenerationState } from '../../../src/luma/types.js';
import { solidJpeg, solidPng } from '../png.js';
import type { FakeGeneration, FakeInput, GenerationPlan } from './api.js';
import { gifFrameCount } from './inputs.js';

export interface GenRecord {
  id: string;
  request: GenerationRequest;
  createdAt: number;
  queuedMs: number;
  processingMs: number;
  hold: boolean;
  releasedAt: number | undefined;
  failWith: FailureCode | undefined;
  failureReason: string | undefined;
  endState: string | undefined;
  output: Buffer | undefined;
  /** Downloads of the output file still to refuse (plan.fileFailures). */
  fileFailuresLeft: number;
  inputs: FakeInput[];
}

const DEFAULT_FAILURE_REASONS: Record<FailureCode, string> = {
  content_moderated: 'The request was flagged by content moderation',
  generation_failed: 'The model failed to generate an image',
  budget_exhausted: 'The account budget is exhausted',
  output_not_found: 'The generated output could not be found',
  image_too_large: 'An input image is too large',
  unsupported_format: 'An input image has an unsupported format',
  corrupt_input: 'An input image could not be decoded',
  invalid_request: 'The request parameters are invalid',
  rate_limited: 'The request was rate limited upstream',
};

/** A 64x64 solid-colour image, its colour from the id's hash: PNG, or a real JPEG when the request asked for one. */
export function defaultOutput(gen: FakeGeneration): Buffer {
  const digest = createHash('sha256').update(gen.id).digest();
  const rgb = [digest[0] ?? 0, digest[1] ?? 0, digest[2] ?? 0] as const;
  return gen.request.output_format === 'jpeg' ? solidJpeg(64, 64, rgb) : solidPng(64, 64, rgb);
}

export interface GenerationStoreOptions {
  now: () => number;
  queuedMs: number;
  processingMs: number;
  outputImage: (generation: FakeGeneration) => Buffer | Promise<Buffer>;
}

export class GenerationStore {
  readonly records = new Map<string, GenRecord>();
  /** Plans for the next generations, consumed in order of creation. */
  readonly plans: GenerationPlan[] = [];

  constructor(private readonly options: GenerationStoreOptions) {}

  finishAt(rec: GenRecord): number {
    return rec.releasedAt ?? (rec.hold ? Number.POSITIVE_INFINITY : rec.createdAt + rec.queuedMs + rec.processingMs);
  }

  queuedUntil(rec: GenRecord): number {
    return Math.min(rec.createdAt + rec.queuedMs, this.finishAt(rec));
  }

  stateOf(rec: GenRecord, at = this.options.now()): GenerationState {
    if (at < this.queuedUntil(rec)) return 'queued';
    if (at < this.finishAt(rec)) return 'processing';
    if (rec.endState !== undefined) return rec.endState as GenerationState;
    return rec.failWith ? 'failed' : 'completed';
  }

  snapshot(rec: GenRecord, withOutput: boolean): FakeGeneration {
    const state = this.stateOf(rec);
    const gen: FakeGeneration = {
      id: rec.id,
      request: rec.request,
      createdAt: rec.createdAt,
      state,
      inputs: rec.inputs,
      timing: { queuedMs: rec.queuedMs, processingMs: rec.processingMs, hold: rec.hold, queuedUntil: this.queuedUntil(rec), finishAt: this.finishAt(rec) },
    };
    if (state === 'failed' && rec.failWith) {
      gen.failureCode = rec.failWith;
      gen.failureReason = rec.failureReason ?? DEFAULT_FAILURE_REASONS[rec.failWith];
    }
    if (withOutput && state === 'completed') gen.outputBytes = this.outputOf(rec);
    return gen;
  }

  /** The generation's bytes (made at creation; for a planned failure, made when a test asks). */
  outputOf(rec: GenRecord): Buffer {
    if (rec.output === undefined) {
      const made = this.options.outputImage(this.snapshot(rec, false));
      if (!Buffer.isBuffer(made)) throw new Error(`fake Luma: the output of ${rec.id} is still being made`);
      rec.output = made;
    }
    return rec.output;
  }

  activeCount(): number {
    const at = this.options.now();
    let active = 0;
    for (const rec of this.records.values()) {
      const state = this.stateOf(rec, at);
      if (state === 'queued' || state === 'processing') active++;
    }
    return active;
  }

  /** Records a new generation following the next plan, and makes its bytes (awaiting an asynchronous outputImage). */
  async create(request: GenerationRequest, inputs: FakeInput[]): Promise<GenRecord> {
    const plan = this.plans.shift() ?? {};
    const animated = inputs.find((input) => input.mediaType === 'image/gif' && input.bytes && gifFrameCount(input.bytes) > 1);
    const rec: GenRecord = {
      id: `gen_${randomBytes(12).toString('hex')}`,
      request,
      createdAt: this.options.now(),
      queuedMs: plan.queuedMs ?? this.options.queuedMs,
      processingMs: plan.processingMs ?? this.options.processingMs,
      hold: plan.hold ?? false,
      releasedAt: undefined,
      failWith: plan.failWith ?? (animated ? 'unsupported_format' : undefined),
      failureReason: plan.failureReason ?? (animated && !plan.failWith ? `${animated.field}: animated GIFs are not supported` : undefined),
      endState: plan.endState,
      output: plan.output,
      fileFailuresLeft: plan.fileFailures ?? 0,
      inputs,
    };
    // Recorded before anything is awaited: the caller's concurrency check and this insert stay one synchronous step.
    this.records.set(rec.id, rec);
    if (rec.output === undefined && rec.failWith === undefined && rec.endState === undefined) {
      const made = this.options.outputImage(this.snapshot(rec, false));
      rec.output = Buffer.isBuffer(made) ? made : await made;
    }
    return rec;
  }

  mustGet(id: string): GenRecord {
    const rec = this.records.get(id);
    if (!rec) throw new Error(`fake Luma: no generation ${id}`);
    return rec;
  }

  /** Finishes a generation (typically a held one) now. */
  release(id: string): void {
    const rec = this.mustGet(id);
    const at = this.options.now();
    if (at < this.finishAt(rec)) rec.releasedAt = at;
  }
}
