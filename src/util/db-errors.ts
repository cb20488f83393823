/**
 * Recognises a unique-constraint violation from any of our drivers (better-sqlite3, pg, mysql2), so repositories can
 * turn it into a 409 without knowing the dialect.
 */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const err = e as { code?: unknown; errno?: unknown };
  return (
    err.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    err.code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    err.code === "23505" ||
    err.code === "ER_DUP_ENTRY" ||
    err.errno === 1062
  );
}

/** Name of the violated unique index when the driver tells it (best effort, for error messages and routing). */
export function violatedConstraint(e: unknown): string {
  if (typeof e !== "object" || e === null) return "";
  const err = e as { constraint?: unknown; message?: unknown };
  if (typeof err.constraint === "string") return err.constraint;
  return typeof err.message === "string" ? err.message : "";
}
