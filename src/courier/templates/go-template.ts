/**
 * A small, safe subset of Go's text/template and html/template, enough for Kratos's courier templates:
 * - `{{ .Field }}`, `{{ .Nested.field }}`, `{{ . }}`: a field path. A name matches a data key exactly, else the key
 *   whose letters match ignoring case and underscores (`.RecoveryCode` finds `recovery_code`, `.To` finds `to`), so
 *   Kratos templates written against Go struct fields work with our snake_case data.
 * - `{{ index .Map "key" }}` / `{{ index .List 0 }}`: one level of indexing with literal keys.
 * - `{{ if PIPE }} ... {{ else if PIPE }} ... {{ else }} ... {{ end }}`: truthiness as in Go (false, 0, "", null,
 *   empty array/object are false).
 * - `{{/* comment *\/}}` and the whitespace trimming markers `{{-` and `-}}`.
 * Anything else (`range`, `with`, pipelines with `|`, function calls other than `index`, variables) is a
 * `TemplateError` at parse time, so an override that uses it fails at start-up instead of sending garbage.
 * A missing value renders as the empty string (Go prints `<no value>`). Output escaping is chosen by the caller:
 * `html` escapes like html/template does in text context, `json` escapes for the inside of a JSON string, `none` is raw.
 */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

export type Escape = "none" | "html" | "json";

type Arg = { kind: "path"; path: string[] } | { kind: "literal"; value: string | number };
type Expr = { kind: "path"; path: string[] } | { kind: "index"; target: string[]; keys: Array<string | number> };
type Node =
  | { kind: "text"; text: string }
  | { kind: "value"; expr: Expr }
  | { kind: "if"; branches: Array<{ cond: Expr; body: Node[] }>; otherwise: Node[] };

/** A parsed template; `render` never throws on data. */
export interface CompiledTemplate {
  render(data: unknown, escape: Escape): string;
}

interface Token {
  kind: "text" | "action";
  value: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ kind: "text", value: text });
      break;
    }
    const close = src.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError(`unclosed action at offset ${open}`);
    let inner = src.slice(open + 2, close);
    if (inner.startsWith("-") && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, "");
      inner = inner.slice(1);
    }
    if (/\s-$/.test(inner)) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    if (text) out.push({ kind: "text", value: text });
    inner = inner.trim();
    if (!(inner.startsWith("/*") && inner.endsWith("*/"))) out.push({ kind: "action", value: inner });
    i = close + 2;
  }
  return out;
}

const PATH_RE = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?$/;

function parsePath(word: string): string[] {
  if (!PATH_RE.test(word)) throw new TemplateError(`unsupported expression "${word}"`);
  return word === "." ? [] : word.slice(1).split(".");
}

function parseArgs(s: string): Arg[] {
  const args: Arg[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|-?\d+|\.[A-Za-z0-9_.]*)\s*/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < s.length && (m = re.exec(s))) {
    const w = m[1];
    if (w.startsWith('"')) args.push({ kind: "literal", value: JSON.parse(w) as string });
    else if (w.startsWith("`")) args.push({ kind: "literal", value: w.slice(1, -1) });
    else if (/^-?\d+$/.test(w)) args.push({ kind: "literal", value: Number(w) });
    else args.push({ kind: "path", path: parsePath(w) });
    pos = re.lastIndex;
  }
  if (pos < s.length) throw new TemplateError(`unsupported expression "${s}"`);
  return args;
}

function parseExpr(s: string): Expr {
  if (s.includes("|")) throw new TemplateError(`pipelines are not supported: "${s}"`);
  if (s.startsWith("index ")) {
    const [target, ...keys] = parseArgs(s.slice(6));
    if (!target || target.kind !== "path" || keys.length === 0 || keys.some((k) => k.kind !== "literal")) {
      throw new TemplateError(`index needs a field and literal keys: "${s}"`);
    }
    return { kind: "index", target: target.path, keys: keys.map((k) => (k as { value: string | number }).value) };
  }
  const args = parseArgs(s);
  if (args.length !== 1 || args[0].kind !== "path") throw new TemplateError(`unsupported action "{{ ${s} }}"`);
  return { kind: "path", path: args[0].path };
}

/** Parses `src`; throws `TemplateError` naming the first unsupported construct. */
export function compileTemplate(src: string): CompiledTemplate {
  const tokens = tokenize(src);
  let i = 0;
  const parseBlock = (inIf: boolean): { nodes: Node[]; end: "end" | "else" | "elseif" | "eof"; cond?: Expr } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t.kind === "text") {
        nodes.push({ kind: "text", text: t.value });
        continue;
      }
      const a = t.value;
      if (a === "end" || a === "else" || a.startsWith("else if ")) {
        if (!inIf) throw new TemplateError(`unexpected {{ ${a} }}`);
        if (a === "end") return { nodes, end: "end" };
        if (a === "else") return { nodes, end: "else" };
        return { nodes, end: "elseif", cond: parseExpr(a.slice(8).trim()) };
      }
      if (a.startsWith("if ")) {
        const branches: Array<{ cond: Expr; body: Node[] }> = [];
        let cond = parseExpr(a.slice(3).trim());
        let otherwise: Node[] = [];
        for (;;) {
          const b = parseBlock(true);
          branches.push({ cond, body: b.nodes });
          if (b.end === "end") break;
          if (b.end === "elseif" && b.cond) {
            cond = b.cond;
            continue;
          }
          const rest = parseBlock(true);
          if (rest.end !== "end") throw new TemplateError("{{ else }} must be followed by {{ end }}");
          otherwise = rest.nodes;
          break;
        }
        nodes.push({ kind: "if", branches, otherwise });
        continue;
      }
      nodes.push({ kind: "value", expr: parseExpr(a) });
    }
    if (inIf) throw new TemplateError("missing {{ end }}");
    return { nodes, end: "eof" };
  };
  const root = parseBlock(false).nodes;
  return { render: (data, escape) => renderNodes(root, data, escape) };
}

const squash = (k: string): string => k.replace(/_/g, "").toLowerCase();

function field(obj: unknown, name: string | number): unknown {
  if (obj === null || typeof obj !== "object") return undefined;
  if (Array.isArray(obj)) return typeof name === "number" ? obj[name] : undefined;
  const rec = obj as Record<string, unknown>;
  const key = String(name);
  if (Object.hasOwn(rec, key)) return rec[key];
  const wanted = squash(key);
  const found = Object.keys(rec).find((k) => squash(k) === wanted);
  return found === undefined ? undefined : rec[found];
}

function evaluate(expr: Expr, data: unknown): unknown {
  let v: unknown = data;
  for (const p of expr.kind === "path" ? expr.path : expr.target) v = field(v, p);
  if (expr.kind === "index") for (const k of expr.keys) v = field(v, k);
  return v;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "\0": "\uFFFD" };

function stringify(v: unknown, escape: Escape): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "object" ? JSON.stringify(v) : String(v);
  if (escape === "html") return s.replace(/[&<>"'\0]/g, (c) => HTML_ESCAPES[c]);
  if (escape === "json") return JSON.stringify(s).slice(1, -1);
  return s;
}

function renderNodes(nodes: Node[], data: unknown, escape: Escape): string {
  let out = "";
  for (const n of nodes) {
    if (n.kind === "text") out += n.text;
    else if (n.kind === "value") out += stringify(evaluate(n.expr, data), escape);
    else {
      const hit = n.branches.find((b) => truthy(evaluate(b.cond, data)));
      out += renderNodes(hit ? hit.body : n.otherwise, data, escape);
    }
  }
  return out;
}
