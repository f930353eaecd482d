/**
 * Whether a value is shaped like a Discord id (a snowflake): 17 to 20 digits, the lengths of every id made since
 * Discord began (a 64-bit number holds at most 20). Ids that come back in custom_ids or options are text a client
 * sent, so they are checked before they go into a REST path or a stored setting.
 */
export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && /^\d{17,20}$/.test(value);
}
