/**
 * Contract shared by the online (range API) and offline (downloaded corpus) breach sources: given the uppercase SHA-1
 * of a password, say how many times it appears in known breaches, or that the answer could not be obtained. Sources
 * never throw; the policy turns `ok: false` into fail-open or fail-closed by `ignore_network_errors`.
 */
export type BreachResult = { ok: true; count: number } | { ok: false; error: string };

export interface BreachSource {
  lookup(sha1Hex: string): Promise<BreachResult>;
}

/** Structured log sink (event name + fields); never receives the password or its full hash. */
export type PolicyLog = (event: string, fields: object) => void;

/**
 * Finds `suffix` (uppercase hex) in a range body: `SUFFIX:COUNT` lines, CRLF or LF. Padding lines have count 0. A line
 * without a count means 1 (the service has sent such lines; Kratos does the same, ory/kratos#2145).
 */
export function countInRangeBody(body: string, suffix: string): number {
  for (const raw of body.split("\n")) {
    const line = raw.trim();
    if (line.length < suffix.length || line.slice(0, suffix.length).toUpperCase() !== suffix) continue;
    const rest = line.slice(suffix.length);
    if (rest === "") return 1;
    if (rest[0] !== ":") continue;
    const n = Number.parseInt(rest.slice(1), 10);
    return Number.isFinite(n) && n >= 0 ? n : 1;
  }
  return 0;
}
