/**
 * The one place where the drivers' differences are absorbed. Every repository writes values through the encoders and
 * reads them back through the decoders, so a row means the same thing on SQLite, PostgreSQL and MySQL/MariaDB:
 * - JSON is stored as text, always stringified (`pg` would turn a JS array into a PG array literal otherwise);
 *   `parseJson` also accepts an already parsed value or a Buffer (mysql2 returns binary-collated text as Buffer).
 * - booleans are smallint 0/1 everywhere; `toBool` accepts 0/1, "0"/"1", bigint and real booleans.
 * - timestamps are ISO-8601 UTC strings with milliseconds in varchar(32): text order is time order on every dialect.
 * - counts: PostgreSQL returns COUNT(*) as a string (int8), SQLite and MySQL as numbers; `toNumber` handles both.
 * - constraint errors: each driver has its own codes; `isUniqueViolation` / `isForeignKeyViolation` recognise them
 *   (a duplicate credential identifier must become a 409 on every dialect).
 */
export const codec = {
  json(v: unknown): string {
    const s = JSON.stringify(v);
    // JSON.stringify(undefined) is undefined: store null instead of failing at the driver with an unclear error.
    return s === undefined ? "null" : s;
  },

  parseJson<T>(v: unknown): T {
    if (v === null || v === undefined) return v as T;
    if (typeof v === "string") return JSON.parse(v) as T;
    if (Buffer.isBuffer(v)) return JSON.parse(v.toString("utf8")) as T;
    return v as T;
  },

  bool(v: boolean): number {
    return v ? 1 : 0;
  },

  toBool(v: unknown): boolean {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0;
    if (typeof v === "bigint") return v !== 0n;
    if (typeof v === "string") return v !== "" && v !== "0" && v.toLowerCase() !== "false" && v.toLowerCase() !== "f";
    if (Buffer.isBuffer(v)) return v.length > 0 && v[0] !== 0 && v[0] !== 0x30;
    return false;
  },

  ts(d: Date): string {
    if (Number.isNaN(d.getTime())) throw new Error("codec.ts: invalid date");
    return d.toISOString();
  },

  toDate(v: unknown): Date {
    if (v instanceof Date) return new Date(v.getTime());
    if (typeof v === "string" || typeof v === "number") {
      const d = new Date(v);
      if (!Number.isNaN(d.getTime())) return d;
    }
    throw new Error(`codec.toDate: not a timestamp: ${typeof v}`);
  },

  /** A nullable timestamp column. */
  toDateOrNull(v: unknown): Date | null {
    return v === null || v === undefined ? null : codec.toDate(v);
  },

  toNumber(v: unknown): number {
    if (typeof v === "number") return v;
    if (typeof v === "bigint" || typeof v === "string") {
      const n = Number(v);
      if (Number.isFinite(n)) return n;
    }
    throw new Error(`codec.toNumber: not a number: ${typeof v}`);
  },

  /** True for a duplicate key on a UNIQUE index or primary key (SQLite, PostgreSQL 23505, MySQL ER_DUP_ENTRY). */
  isUniqueViolation(e: unknown): boolean {
    const { code, errno } = errorCodes(e);
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505" ||
      code === "ER_DUP_ENTRY" || errno === 1062;
  },

  /** True for a row pointing at a missing parent, or a parent deleted while referenced without cascade. */
  isForeignKeyViolation(e: unknown): boolean {
    const { code, errno } = errorCodes(e);
    return code === "SQLITE_CONSTRAINT_FOREIGNKEY" || code === "23503" || errno === 1451 || errno === 1452 ||
      errno === 1216 || errno === 1217;
  },
};

function errorCodes(e: unknown): { code?: string; errno?: number } {
  if (typeof e !== "object" || e === null) return {};
  const o = e as { code?: unknown; errno?: unknown };
  return {
    code: typeof o.code === "string" ? o.code : undefined,
    errno: typeof o.errno === "number" ? o.errno : undefined,
  };
}
