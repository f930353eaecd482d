import type Keyv from 'keyv';
import type { DeserializedData, Deserialize, Serialize } from 'keyv';

/** Stands in for a stored text keyv could not parse, so get() can tell it from a storage failure. */
export class Unreadable {
  constructor(readonly raw: string) {}
}

/**
 * keyv's own format (@keyv/serialize) is JSON in which a Buffer is the string `:base64:<base64>` and any other
 * string starting with `:` gets one more `:` in front; it builds and revives that text in JavaScript, value by
 * value, which cost about 1 s of CPU per 2,000 jobs. The same text comes from V8's JSON.stringify / JSON.parse
 * whenever there is nothing to escape or revive, which is almost always: those values go the native way, every
 * other one through keyv's own functions, so what is stored, and what was stored before, reads and writes the same.
 */
export function useNativeJson(keyv: Keyv): void {
  if (!keyv.serialize || !keyv.deserialize) return;
  const format = nativeJsonFormat(keyv.serialize, keyv.deserialize);
  keyv.serialize = format.serialize;
  keyv.deserialize = format.deserialize;
}

/** keyv's format (`serialize`, `deserialize`: keyv's own) through V8's JSON wherever that gives the same text or value. */
export function nativeJsonFormat(serialize: Serialize, deserialize: Deserialize): { serialize: Serialize; deserialize: Deserialize } {
  return {
    serialize: (data) => (isPlainJson(data) ? JSON.stringify(data) : serialize(data)),
    deserialize: <V>(text: string) => (mayNeedReviving(text) ? deserialize<V>(text) : (JSON.parse(text) as DeserializedData<V>)),
  };
}

/**
 * Whether JSON.stringify writes `data` exactly as @keyv/serialize does: null, booleans, numbers, strings not starting
 * with `:`, and arrays (without holes or undefined) and plain objects of those (an undefined property is left out
 * by both). Anything else — a Buffer, a Date, a class instance, a function — goes through keyv's serializer.
 */
export function isPlainJson(data: unknown): boolean {
  switch (typeof data) {
    case 'string':
      return data.charCodeAt(0) !== COLON;
    case 'number':
    case 'boolean':
      return true;
    case 'object': {
      if (data === null) return true;
      const proto: unknown = Object.getPrototypeOf(data);
      if (proto === Array.prototype) {
        const items = data as unknown[];
        for (let i = 0; i < items.length; i++) if (items[i] === undefined || !isPlainJson(items[i])) return false;
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      const record = data as Record<string, unknown>;
      for (const key in record) {
        const value = record[key];
        if (value !== undefined && !isPlainJson(value)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

const COLON = 58;
/**
 * A string value (at the top, in an array or after a key) whose first character is `:`, written as is or escaped:
 * the only values keyv's reviver changes. Matches more than that (a key ending in `:`), never less.
 */
const REVIVED_STRING = /(?:^|[[,:])\s*"(?::|\\u)/;

/** Whether keyv's reviver could change anything in `text`; when not, JSON.parse alone gives the same value. */
export function mayNeedReviving(text: string): boolean {
  return REVIVED_STRING.test(text);
}

/** A stored text keyv cannot parse comes back as Unreadable instead of an error, so get() can tell it from a storage failure. */
export function keepUnparsable(keyv: Keyv): void {
  const parse = keyv.deserialize;
  keyv.deserialize = <V>(data: string) => {
    try {
      return parse?.<V>(data);
    } catch {
      return { value: new Unreadable(data) as V };
    }
  };
}
