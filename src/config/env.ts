/**
 * Environment overrides in Kratos's convention (ory/x configx over koanf): the variable name, lower-cased, with every
 * `_` read as `.`, is compared with every path of the config schema whose own `_` are also read as `.`. So
 * `SERVE_PUBLIC_PORT` -> `serve.public.port`, `SELFSERVICE_FLOWS_LOGIN_UI_URL` -> `selfservice.flows.login.ui_url`,
 * `SECRETS_DEFAULT_0` -> `secrets.default[0]`, `SECRETS_DEFAULT=a,b` -> `secrets.default = ["a","b"]`.
 * Values are coerced by the schema type at that path (integer, number, boolean, comma list or JSON for arrays, JSON for
 * objects); a value that cannot be coerced is kept as a string so validation names the path and the problem.
 * Variables that match no path are ignored (the environment is full of unrelated names).
 */

export type JsonObject = { [key: string]: unknown };
type SchemaNode = JsonObject;

interface SchemaPath {
  /** Segments; `#` stands for an array index. */
  segments: string[];
  /** The normalized form compared with variable names, with `#` kept as a placeholder. */
  matcher: RegExp;
  node: SchemaNode;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every path of a (local-ref-free) schema, parents before children, array items as `#`. */
export function listSchemaPaths(root: SchemaNode): SchemaPath[] {
  const out: SchemaPath[] = [];
  const walk = (node: SchemaNode, segments: string[]): void => {
    if (segments.length > 0) {
      const pattern = segments.map((s) => (s === "#" ? "(\\d+)" : escapeRe(s.replace(/_/g, ".")))).join("\\.");
      out.push({ segments, matcher: new RegExp(`^${pattern}$`), node });
    }
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) if (isObject(child)) walk(child, [...segments, key]);
    }
    if (isObject(node.items)) walk(node.items, [...segments, "#"]);
  };
  walk(root, []);
  return out;
}

function typesOf(node: SchemaNode): string[] {
  const t = node.type;
  return Array.isArray(t) ? t.map(String) : typeof t === "string" ? [t] : [];
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** Coerces an environment string to the schema type at its path (see the module comment). */
export function coerceEnvValue(node: SchemaNode, value: string): unknown {
  const types = typesOf(node);
  if (types.length !== 1) return value;
  switch (types[0]) {
    case "integer":
      return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    case "number":
      return value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
    case "boolean": {
      const v = value.trim().toLowerCase();
      if (v === "true" || v === "1") return true;
      if (v === "false" || v === "0") return false;
      return value;
    }
    case "array": {
      const parsed = tryJson(value);
      if (Array.isArray(parsed)) return parsed;
      const items = isObject(node.items) ? node.items : {};
      if (typesOf(items).some((t) => t === "object" || t === "array")) return value;
      return value === "" ? [] : value.split(",").map((s) => coerceEnvValue(items, s.trim()));
    }
    case "object": {
      const parsed = tryJson(value);
      return isObject(parsed) ? parsed : value;
    }
    default:
      return value;
  }
}

/** Sets `value` at `path` (array indexes as numbers), creating objects and arrays on the way. */
export function setPath(target: JsonObject, path: (string | number)[], value: unknown): void {
  let cur: unknown = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const nextIsIndex = typeof path[i + 1] === "number";
    const container = cur as Record<string | number, unknown>;
    const existing = container[key];
    if (nextIsIndex ? !Array.isArray(existing) : !isObject(existing)) container[key] = nextIsIndex ? [] : {};
    cur = container[key];
  }
  (cur as Record<string | number, unknown>)[path[path.length - 1]] = value;
}

export interface EnvOverride {
  variable: string;
  path: (string | number)[];
}

/**
 * Applies every variable of `env` that names a schema path to `target` (mutated) and returns what was applied.
 * Whole-value variables (`SECRETS_DEFAULT`) are applied before indexed ones (`SECRETS_DEFAULT_0`), so the index wins.
 */
export function applyEnvOverrides(target: JsonObject, env: NodeJS.ProcessEnv, schema: SchemaNode): EnvOverride[] {
  const paths = listSchemaPaths(schema);
  const matches: { variable: string; path: (string | number)[]; value: unknown; depth: number }[] = [];
  for (const [variable, raw] of Object.entries(env)) {
    if (raw === undefined || !/^[A-Za-z0-9_]+$/.test(variable)) continue;
    const key = variable.toLowerCase().replace(/_/g, ".");
    for (const p of paths) {
      const m = p.matcher.exec(key);
      if (!m) continue;
      let idx = 1;
      const path = p.segments.map((s) => (s === "#" ? Number(m[idx++]) : s));
      matches.push({ variable, path, value: coerceEnvValue(p.node, raw), depth: path.length });
      break;
    }
  }
  matches.sort((a, b) => a.depth - b.depth || a.variable.localeCompare(b.variable));
  for (const m of matches) setPath(target, m.path, m.value);
  return matches.map(({ variable, path }) => ({ variable, path }));
}
