import { FAILURE_CODES } from '../luma/types.js';

/**
 * The `code` label's values. A label takes only these (anything else counts as `other`): a code comes partly from
 * outside (Luma's `failure_code`), and every new value would be a new time series kept for the process's life.
 */
export const FAILURE_LABELS: ReadonlySet<string> = new Set([
  ...FAILURE_CODES,
  ...['http_400', 'http_401', 'http_402', 'http_403', 'http_413', 'http_422'],
  ...['uncertain', 'internal', 'unknown', 'unknown_state', 'not_found', 'luma_unavailable', 'poll_timeout', 'job_too_old'],
  ...['download_failed', 'inline_too_large', 'input_unreachable'],
]);
export const REFUSAL_LABELS: ReadonlySet<string> = new Set(['quota_exceeded', 'quota_zero', 'quota_server_total', 'quota_server_ceiling', 'quota_server_share', 'quota_spend_cap']);
export const label = (code: string, allowed: ReadonlySet<string>): string => (allowed.has(code) ? code : 'other');
