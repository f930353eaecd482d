// Storage writes and reads keyv's format (@keyv/serialize) through V8's JSON where that gives the same text: every
// record already stored must read the same, and every record written must read the same with keyv's own functions
// (an older bot on the same storage, a rollback).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStorage, isPlainJson, mayNeedReviving, nativeJsonFormat, type Storage } from '../../src/storage/index.js';
import { capturingLogger } from '../helpers/logs.js';
import { REDIS_URL } from '../quota/backends.js';
import { makeJob } from '../quota/fixtures.js';

const reference = new Keyv();
if (!reference.serialize || !reference.deserialize) throw new Error('keyv has no default serializer');
const keyvSerialize = reference.serialize;
const keyvDeserialize = reference.deserialize;
const ours = nativeJsonFormat(keyvSerialize, keyvDeserialize);

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Values of every kind storage holds, and the ones keyv's format treats specially. */
const VALUES: Record<string, unknown> = {
  'a job record': makeJob({ userId: '123456789012345678', guildId: '876543210987654321' }),
  'an active-job index': Array.from({ length: 50 }, (_, i) => `id${i}`),
  'a counter': 42,
  'a marker': true,
  'null': null,
  'a plain string': 'hello',
  'an empty string': '',
  'a string starting with ":"': ':colon',
  'a string that is "::"': '::',
  'a string looking like a Buffer': ':base64:aGVsbG8=',
  'a Buffer': Buffer.from('bytes \u0000\u00ff'),
  'a Buffer in a record': { result: Buffer.from([1, 2, 3]), name: 'x' },
  'colon strings deep inside': { a: [':x', { b: ':y', c: 'z:' }], 'key:': ':v', ':key': 'v' },
  'a key ending in ":"': { 'a:': 'b' },
  'undefined properties': { a: undefined, b: 1 },
  'undefined in an array': [1, undefined, 2],
  'a sparse array': [1, , 3], // eslint-disable-line no-sparse-arrays
  'a Date': { at: new Date(0) },
  'a class instance': new Point(1, 2),
  'a null-prototype object': Object.assign(Object.create(null) as object, { a: ':b' }),
  'a function property': { f: () => 1, g: 2 },
  'a function in an array': [1, () => 1, 2],
  'numbers JSON cannot hold': [NaN, Infinity, -0],
  'unicode, quotes and control characters': { t: '“quoted” \\ "x" \n\t\u0001 \ud83d\ude00 \ud800', u: '\u003a not first' },
  'a toJSON that returns a colon string': { v: { toJSON: () => ':x' } },
  'deep nesting': { a: { b: { c: { d: [[[':deep']]] } } } },
};

/** Texts another writer could have stored: keyv's own output, and JSON with spaces and escapes. */
const TEXTS = [
  '{"value":"\\u003acolon","expires":null}',
  '{"value":"\\u003Ax"}',
  '{ "value" : [ ":a", "::b" , ":base64:AQID" ] }',
  '{"value":{"k:":"v","x":"a\\":b"}}',
  '":top"',
  '  ":top"',
  '{"value":"plain","expires":1}',
  '[]',
  '{"value":{"a:":1}}',
];

describe('the stored format', () => {
  it('writes every value as keyv does, to the character', () => {
    for (const [what, value] of Object.entries(VALUES)) {
      const data = { value, expires: 1_700_000_000_000 };
      expect(ours.serialize(data), what).toBe(keyvSerialize(data));
    }
  });

  it('reads every text keyv wrote, and every other JSON text, as keyv reads it', () => {
    const texts = [...Object.values(VALUES).map((value) => keyvSerialize({ value }) as string), ...TEXTS];
    for (const text of texts) expect(ours.deserialize(text), text).toEqual(keyvDeserialize(text));
    expect(Buffer.isBuffer((ours.deserialize(keyvSerialize({ value: Buffer.from('x') }) as string) as { value: unknown }).value)).toBe(true);
  });

  it('goes the native way for the records the bot writes, and keyv\'s way when something needs escaping', () => {
    expect(isPlainJson({ value: VALUES['a job record'] })).toBe(true);
    expect(isPlainJson({ value: VALUES['an active-job index'] })).toBe(true);
    expect(mayNeedReviving(keyvSerialize({ value: VALUES['a job record'] }) as string)).toBe(false);
    expect(isPlainJson({ value: ':x' })).toBe(false);
    expect(isPlainJson({ value: Buffer.from('x') })).toBe(false);
    expect(mayNeedReviving('{"value":":x"}')).toBe(true);
    expect(mayNeedReviving('{"value":["a", "\\u003ax"]}')).toBe(true);
  });
});

/** Opens `keyv` over the same data as the bot's storage, with keyv's own serializer, as an older bot would. */
type Backend = { name: string; open(): Promise<{ storage: Storage; plain: Keyv; key: (k: string) => string; close(): Promise<void> }> };

const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'format-'));
      const file = join(dir, 'bot.sqlite');
      const storage = await createStorage(`sqlite://${file}`, capturingLogger().logger);
      const plain = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${file}` }), namespace: 'bot', throwOnErrors: true });
      return {
        storage,
        plain,
        key: (k) => k,
        async close() {
          await plain.disconnect();
          await storage.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'Redis',
    async open() {
      const namespace = `fmt${randomBytes(4).toString('hex')}`;
      const storage = await createStorage(REDIS_URL, capturingLogger().logger, { namespace });
      const plain = new Keyv({ store: new KeyvRedis(REDIS_URL), namespace, useKeyPrefix: false, throwOnErrors: true });
      const written = new Set<string>();
      return {
        storage,
        plain,
        key: (k) => (written.add(k), k),
        async close() {
          for (const k of written) await storage.delete(k);
          await plain.disconnect();
          await storage.close();
        },
      };
    },
  },
];

describe.each(BACKENDS)('records on $name', (backend) => {
  let open: Awaited<ReturnType<Backend['open']>>;
  beforeEach(async () => {
    open = await backend.open();
  });
  afterEach(async () => {
    await open.close();
  });

  it('reads what keyv wrote with its own serializer, and keyv reads what it writes', async () => {
    for (const [i, value] of Object.values(VALUES).entries()) {
      const before = open.key(`old:${i}`);
      await open.plain.set(before, value);
      expect(await open.storage.get(before)).toEqual(await open.plain.get(before));
      const after = open.key(`new:${i}`);
      await open.storage.set(after, value);
      expect(await open.plain.get(after)).toEqual(await open.storage.get(after));
    }
    const record = VALUES['a job record'];
    await open.storage.set(open.key('job'), record);
    expect(await open.plain.get('job')).toEqual(record);
  });
});
