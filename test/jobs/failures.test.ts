// The refund rule per failure class: every failure the member did not cause gives the unit back; content moderation
// (the member's prompt or image) keeps it. The engine refunds exactly when action.refund.
import { describe, expect, it } from 'vitest';
import { classifyLumaFailure, classifySubmitError, failureText, jobTooOld, lumaUnavailable, type FailureAction } from '../../src/jobs/failures.js';
import { LumaConnectionError, makeAPIError } from '../../src/luma/errors.js';

const refundOf = (a: FailureAction): boolean | 'requeued' | 'inlined' =>
  a.kind === 'fail' ? a.refund : a.kind === 'requeue' ? 'requeued' : 'inlined';

describe('which failures give the quota unit back', () => {
  it.each([
    ['content_moderated', false],
    ['generation_failed', true],
    ['output_not_found', true],
    ['budget_exhausted', true],
    ['image_too_large', true],
    ['unsupported_format', true],
    ['corrupt_input', true],
    ['invalid_request', true],
    ['something_new', true],
  ])('Luma failure %s refunds: %s', (code, refund) => {
    expect(refundOf(classifyLumaFailure(code, null, 'REF', 0))).toBe(refund);
  });

  it('puts a rate_limited generation back in the queue a few times, then fails it with a refund', () => {
    expect(refundOf(classifyLumaFailure('rate_limited', null, 'REF', 0))).toBe('requeued');
    expect(refundOf(classifyLumaFailure('rate_limited', null, 'REF', 3))).toBe(true);
  });

  it.each([400, 401, 402, 403, 413, 422, 500])('HTTP %i on submit fails with a refund', (status) => {
    const err = makeAPIError(status, { detail: 'x' }, {});
    expect(refundOf(classifySubmitError(err, { hasUrlInputs: false, ref: 'REF' }))).toBe(true);
  });

  it('requeues a 429 and a 503, and sends URL inputs as data after a 503 or 422', () => {
    const ctx = { hasUrlInputs: false, ref: 'REF' };
    expect(refundOf(classifySubmitError(makeAPIError(429, { detail: 'Rate limit exceeded' }, { 'retry-after': '2' }), ctx))).toBe('requeued');
    expect(refundOf(classifySubmitError(makeAPIError(503, { detail: 'down' }, {}), ctx))).toBe('requeued');
    expect(refundOf(classifySubmitError(makeAPIError(503, { detail: 'down' }, {}), { ...ctx, hasUrlInputs: true }))).toBe('inlined');
    expect(refundOf(classifySubmitError(makeAPIError(422, { detail: 'fetch failed' }, {}), { ...ctx, hasUrlInputs: true }))).toBe('inlined');
  });

  it('retries a POST that never left, and refunds one that may have arrived', () => {
    const ctx = { hasUrlInputs: false, ref: 'REF' };
    const refused = new LumaConnectionError('refused', { reachedServer: false, code: 'ECONNREFUSED' });
    const reset = new LumaConnectionError('reset', { reachedServer: true, code: 'UND_ERR_SOCKET' });
    expect(refundOf(classifySubmitError(refused, ctx))).toBe('requeued');
    expect(refundOf(classifySubmitError(reset, ctx))).toBe(true);
  });

  // A short outage loses nothing. The engine keeps such jobs for LUMA_OUTAGE_WINDOW_MS.
  it.each([
    ['a 502 (upstream down)', makeAPIError(502, { detail: 'Bad Gateway' }, {})],
    ['a 503 without URL inputs', makeAPIError(503, { detail: 'down' }, {})],
    ['a refused connection', new LumaConnectionError('refused', { reachedServer: false, code: 'ECONNREFUSED' })],
  ])('keeps a job through %s as an outage, in its place: the breaker spaces the tries, not a timer of its own', (_what, err) => {
    expect(classifySubmitError(err, { hasUrlInputs: false, ref: 'REF' })).toMatchObject({ kind: 'requeue', outage: true, delayMs: 0 });
  });
});

// A failure is kept as key + values and written in the language of whoever reads it.
describe('failure messages in the reader’s language', () => {
  const failureOf = (a: FailureAction) => {
    if (a.kind !== 'fail') throw new Error('expected a failure');
    return a.failure;
  };

  it('keeps the English text for the logs and writes it again in any language, Luma’s words included', () => {
    const f = failureOf(classifyLumaFailure('unsupported_format', 'tiff is not supported', 'REF', 0));
    expect(f.userMessage).toBe('An input image is in a format Luma does not take (Luma said: tiff is not supported). Use PNG, JPEG, WebP or a still GIF. This did not count against your quota.');
    expect(failureText('en-US', f)).toBe(f.userMessage);
    expect(failureText('de', f)).toBe('Ein Eingabebild hat ein Format, das Luma nicht annimmt (Luma meldet: tiff is not supported). Nimm PNG, JPEG, WebP oder ein unbewegtes GIF. Das wurde nicht auf dein Kontingent angerechnet.');
    expect(failureText('ja', failureOf(classifyLumaFailure('unsupported_format', null, 'REF', 0)))).toBe('入力画像が Luma の対応していない形式です。PNG、JPEG、WebP、または静止 GIF を使ってください。クォータは消費されていません。');
    // A language the bot does not speak gets English.
    expect(failureText('ko', f)).toBe(f.userMessage);
  });

  it('cuts Luma’s reason between whole characters: no half emoji (a lone surrogate) at the cut', () => {
    const reason = `${'x'.repeat(198)}👩‍👩‍👧 and more`;
    const said = failureOf(classifyLumaFailure('corrupt_input', reason, 'REF', 0)).vars?.lumaSaid;
    expect(typeof said).toBe('string');
    expect(said as string).toBe(`${'x'.repeat(198)}…`);
    const emoji = failureOf(classifyLumaFailure('corrupt_input', `x${'🙂'.repeat(150)}`, 'REF', 0)).vars?.lumaSaid as string;
    expect(/\p{Cs}/u.test(emoji)).toBe(false); // no lone surrogate
    expect(emoji).toBe(`x${'🙂'.repeat(99)}…`);
  });

  it('writes durations in the reader’s words and plural forms', () => {
    expect(failureOf(lumaUnavailable(60_000)).userMessage).toContain('more than 1 minute,');
    expect(failureText('fr', failureOf(lumaUnavailable(600_000)))).toContain('depuis plus de 10 minutes,');
    expect(failureText('pt-BR', failureOf(jobTooOld(20_000, 'REF')))).toContain('em 20 segundos,');
    expect(failureText('es-419', failureOf(jobTooOld(60_000, 'REF')))).toContain('en 1 minuto,');
  });

  it('shows the stored English of a record written before failures had keys', () => {
    expect(failureText('de', { userMessage: 'Old text.' })).toBe('Old text.');
    expect(failureText('ja', { userMessage: 'Old text.', key: 'failure.no_such_key' })).toBe('Old text.');
  });
});
