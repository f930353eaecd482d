// Storage.atomic on Redis: a compare-and-set over keyv's stored text. The records are read (MGET), the step is
// decided, and one script writes it only when every record read still holds the text it had; else the step is
// decided again from what is there now. Keys and text are keyv's own (`<namespace>::<key>`, `{"value":…,"expires":…}`),
// so get() and set() read and write the same records.
import { createHash } from 'node:crypto';
import type { Deserialize, Serialize } from 'keyv';
import { Unreadable, type AtomicDecide, type AtomicWrite } from './atomic.js';
import { guard, type RedisLike } from './locks.js';
import { StorageError } from './types.js';

/**
 * KEYS: the records read, then the records written. ARGV[1]: how many were read; then, per record read, `0` (it was
 * absent) or `1<SHA-1 of its text>` (a large record, like the active-job index, is not sent back whole); then, per record written, `set` or `del`, its text and its time to live in ms (`` for none).
 * Returns 1 when written, 0 when a record read had changed (nothing written).
 */
const COMPARE_AND_SET = `
local n = tonumber(ARGV[1])
for i = 1, n do
  local was = ARGV[i + 1]
  local now = redis.call('get', KEYS[i])
  if string.sub(was, 1, 1) == '0' then
    if now then return 0 end
  elseif not now or redis.sha1hex(now) ~= string.sub(was, 2) then
    return 0
  end
end
local a = n + 2
for j = n + 1, #KEYS do
  local op, text, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  a = a + 3
  if op == 'del' then
    redis.call('del', KEYS[j])
  elseif ttl == '' then
    redis.call('set', KEYS[j], text)
  else
    redis.call('set', KEYS[j], text, 'PX', ttl)
  end
end
return 1`;

const MGET = "return redis.call('mget', unpack(KEYS))";

/** How often a step is decided again when its records keep changing under it, before it fails. */
const MAX_ATTEMPTS = 50;

export function redisAtomic(client: RedisLike, namespace: string, format: { serialize: Serialize; deserialize: Deserialize }) {
  const full = (key: string) => `${namespace}::${key}`;

  const decode = async (text: string | null): Promise<unknown> => {
    if (text === null) return undefined;
    const data = (await format.deserialize<unknown>(text)) as { value?: unknown; expires?: unknown } | undefined;
    if (data === undefined || data === null) return undefined;
    if (data.value instanceof Unreadable) return data.value;
    if (typeof data.expires === 'number' && Date.now() > data.expires) return undefined;
    return data.value;
  };

  const encode = async (w: AtomicWrite): Promise<string[]> => {
    if ('delete' in w) return ['del', '', ''];
    const ttl = typeof w.ttlMs === 'number' && w.ttlMs > 0 ? Math.ceil(w.ttlMs) : undefined;
    const text = await format.serialize({ value: w.value, expires: ttl === undefined ? undefined : Date.now() + ttl });
    return ['set', text, ttl === undefined ? '' : String(ttl)];
  };

  return async <T>(keys: readonly string[], decide: AtomicDecide<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const texts = keys.length === 0 ? [] : ((await guard('get', keys[0] ?? '', () => client.eval(MGET, { keys: keys.map(full), arguments: [] }))) as (string | null)[]);
      const values = await Promise.all(texts.map(decode));
      const { writes, result } = await decide(values);
      if (writes.length === 0) return result;
      const args = [String(keys.length), ...texts.map((t) => (t === null ? '0' : `1${createHash('sha1').update(t, 'utf8').digest('hex')}`))];
      for (const w of writes) args.push(...(await encode(w)));
      const done = await guard('set', writes[0]?.key ?? '', () => client.eval(COMPARE_AND_SET, { keys: [...keys.map(full), ...writes.map((w) => full(w.key))], arguments: args }));
      if (Number(done) === 1) return result;
      if (attempt >= MAX_ATTEMPTS) throw new StorageError('set', keys[0] ?? '', new Error('the record kept changing while it was being updated'));
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
    }
  };
}
