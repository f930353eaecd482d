import type { GenerationRequest, Model } from '../luma/types.js';

/**
 * Luma's pay-as-you-go prices (from its API reference): the one table of what each request costs the operator, in
 * ten-thousandths of a dollar so that sums stay exact integers in the spend counters (0.0404 + 0.0030 in floating
 * point is not 0.0434). The README's table of costs is checked against it (test/quota/pricing.test.ts).
 *   text         text → image, no input image
 *   oneReference an edit (its source image), or one reference image
 *   perFurtherReference each further input image (the reference surcharge)
 */
export const PRICE_E4: Readonly<Record<Model, Readonly<{ text: number; oneReference: number; perFurtherReference: number }>>> = {
  'uni-1': { text: 404, oneReference: 434, perFurtherReference: 30 },
  'uni-1-max': { text: 1000, oneReference: 1030, perFurtherReference: 30 },
};

/** How many input images Luma prices: each reference, plus the source of an edit (an edit is priced like one reference). */
export function pricedReferences(request: Pick<GenerationRequest, 'type' | 'image_ref' | 'source'>): number {
  const refs = request.image_ref?.length ?? 0;
  const source = request.type === 'image_edit' || request.source !== undefined ? 1 : 0;
  return refs + source;
}

/** What a request with `inputs` priced input images (references, plus an edit's source) costs, ten-thousandths of a dollar. */
export function priceOfInputsE4(model: Model, inputs: number): number {
  const p = PRICE_E4[model];
  return inputs === 0 ? p.text : p.oneReference + (inputs - 1) * p.perFurtherReference;
}

/**
 * What one request costs the operator, in ten-thousandths of a dollar: text→image at the base price; an edit or
 * one reference at the one-reference price; each further reference +0.0030. An edit with N references is priced
 * as N+1 references (Luma's docs leave this unconfirmed; it errs on the high side).
 */
export function priceE4(request: Pick<GenerationRequest, 'model' | 'type' | 'image_ref' | 'source'>): number {
  return priceOfInputsE4(request.model ?? 'uni-1', pricedReferences(request));
}

export function e4ToUsd(e4: number): number {
  return e4 / 10_000;
}

export function usdToE4(usd: number): number {
  return Math.round(usd * 10_000);
}

/** `$1.2345` with as few decimals as needed (at least two). */
export function formatUsd(usd: number): string {
  const fixed = usd.toFixed(4).replace(/0{1,2}$/, '');
  return `$${fixed}`;
}

/** Quota units one image of this model costs: uni-1 costs 1; uni-1-max costs `maxWeight` (QUOTA_MAX_WEIGHT). */
export function unitsFor(model: Model | undefined, maxWeight: number): number {
  return model === 'uni-1-max' ? maxWeight : 1;
}

/**
 * Failures Luma refunds although it accepted the job (luma-api.md, "Failures"). Every other job Luma accepted is
 * billed, however it ended for the member: a poll that lost contact, a 404, a crash after submit, a job given up.
 */
export const LUMA_REFUNDED_FAILURES: ReadonlySet<string> = new Set(['content_moderated', 'generation_failed', 'output_not_found']);

/**
 * Whether Luma bills the operator for a job that ended with `reason`: it accepted the job (a generation id, or a
 * result) and does not refund that failure — or the POST may have reached Luma (`uncertain`), counted to be safe.
 */
export function lumaBills(job: { readonly generationId?: string; readonly completedAt?: number }, reason: string): boolean {
  if (reason === 'uncertain') return true;
  if (job.generationId === undefined && job.completedAt === undefined) return false;
  return !LUMA_REFUNDED_FAILURES.has(reason);
}
