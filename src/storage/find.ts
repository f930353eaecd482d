// Storage.findKeys on each backend: the keys under a prefix whose record has a top-level field equal to one of some
// values, found where the data is (a Lua script over SCAN on Redis, JSON functions in SQL on SQLite) so the records
// need not travel to the process. For repairs at start (the active-job index healing from the job records).
import type { RedisLike } from './locks.js';

/**
 * One SCAN step: ARGV[1] the cursor, ARGV[2] the pattern, ARGV[3] the field; the values from ARGV[4]. Returns the
 * next cursor and the keys whose keyv record `{"value":{…}}` has the field at one of the values.
 */
const SCAN_STEP = `
local step = redis.call('scan', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 500)
local want = {}
for i = 4, #ARGV do want[ARGV[i]] = true end
local found = {}
for _, key in ipairs(step[2]) do
  local text = redis.call('get', key)
  if text then
    local ok, data = pcall(cjson.decode, text)
    if ok and type(data) == 'table' and type(data.value) == 'table' and want[data.value[ARGV[3]]] then found[#found + 1] = key end
  end
end
return { step[1], found }`;

export type FindKeys = (prefix: string, field: string, values: readonly string[]) => Promise<string[]>;

export function redisFindKeys(client: RedisLike, namespace: string): FindKeys {
  const full = `${namespace}::`;
  return async (prefix, field, values) => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = (await client.eval(SCAN_STEP, { keys: [], arguments: [cursor, `${full}${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, field, ...values] })) as [string, string[]];
      for (const key of found) keys.push(key.slice(full.length));
      cursor = String(next);
    } while (cursor !== '0');
    return keys;
  };
}

export function sqliteFindKeys(query: (sql: string, ...params: unknown[]) => Promise<unknown>, namespace: string): FindKeys {
  const full = `${namespace}:`;
  return async (prefix, field, values) => {
    if (!/^\w+$/.test(field) || values.length === 0) return [];
    const rows = (await query(
      `SELECT key FROM keyv WHERE substr(key, 1, ?) = ? AND json_valid(value) AND json_extract(value, '$.value.${field}') IN (${values.map(() => '?').join(',')})`,
      full.length + prefix.length,
      full + prefix,
      ...values,
    )) as { key: string }[];
    return rows.map((r) => r.key.slice(full.length));
  };
}

/** Over keyv's in-memory Map (unit tests): its keys are `<namespace>:<key>`, its values keyv's text. */
export function mapFindKeys(map: Map<string, unknown>, namespace: string): FindKeys {
  const full = `${namespace}:`;
  return async (prefix, field, values) => {
    const keys: string[] = [];
    for (const [key, text] of map) {
      if (!key.startsWith(full + prefix) || typeof text !== 'string') continue;
      try {
        const v = (JSON.parse(text) as { value?: Record<string, unknown> }).value?.[field];
        if (typeof v === 'string' && values.includes(v)) keys.push(key.slice(full.length));
      } catch {
        // not a record: not found
      }
    }
    return keys;
  };
}
