/**
 * RFC 6902 JSON Patch over plain JSON values, with RFC 6901 pointers. Pure: returns a new document, never mutates the
 * input. Throws `JsonPatchError` (message says which operation and why) for any invalid operation.
 */
export class JsonPatchError extends Error {}

export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

type Json = unknown;

export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new JsonPatchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

function arrayIndex(token: string, length: number, allowEnd: boolean): number {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new JsonPatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > length || (!allowEnd && i >= length)) throw new JsonPatchError(`array index ${i} out of bounds`);
  return i;
}

function get(doc: Json, tokens: string[]): Json {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new JsonPatchError(`path "/${tokens.join("/")}" does not exist`);
  }
  return cur;
}

function parentOf(doc: Json, tokens: string[]): Json {
  return get(doc, tokens.slice(0, -1));
}

function add(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new JsonPatchError(`cannot add to a non-container at "/${tokens.join("/")}"`);
  return doc;
}

function remove(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) throw new JsonPatchError("cannot remove the whole document");
  const parent = parentOf(doc, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw new JsonPatchError(`path "/${tokens.join("/")}" does not exist`);
  return doc;
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export function applyJsonPatch(document: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw new JsonPatchError("a JSON Patch must be an array of operations");
  let doc = clone(document);
  operations.forEach((raw, i) => {
    if (!isObject(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") {
      throw new JsonPatchError(`operation ${i}: "op" and "path" must be strings`);
    }
    const op = raw as unknown as JsonPatchOperation;
    const tokens = parsePointer(op.path);
    const needValue = () => {
      if (!Object.prototype.hasOwnProperty.call(raw, "value")) throw new JsonPatchError(`operation ${i} (${op.op}): "value" is required`);
      return clone(op.value);
    };
    try {
      switch (op.op) {
        case "add":
          doc = add(doc, tokens, needValue());
          break;
        case "remove":
          doc = remove(doc, tokens);
          break;
        case "replace":
          get(doc, tokens);
          doc = tokens.length === 0 ? needValue() : add(remove(doc, tokens), tokens, needValue());
          break;
        case "move": {
          if (typeof op.from !== "string") throw new JsonPatchError(`"from" is required`);
          const from = parsePointer(op.from);
          if (tokens.length > from.length && from.every((t, k) => tokens[k] === t)) throw new JsonPatchError("cannot move a value into itself");
          const v = get(doc, from);
          doc = add(remove(doc, from), tokens, v);
          break;
        }
        case "copy": {
          if (typeof op.from !== "string") throw new JsonPatchError(`"from" is required`);
          doc = add(doc, tokens, clone(get(doc, parsePointer(op.from))));
          break;
        }
        case "test":
          if (!deepEqual(get(doc, tokens), needValue())) throw new JsonPatchError(`test failed at "${op.path}"`);
          break;
        default:
          throw new JsonPatchError(`unknown op "${op.op}"`);
      }
    } catch (e) {
      if (e instanceof JsonPatchError && !e.message.startsWith("operation ")) throw new JsonPatchError(`operation ${i} (${op.op} ${op.path}): ${e.message}`);
      throw e;
    }
  });
  return doc;
}
