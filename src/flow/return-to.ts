/**
 * `return_to` checking. Kratos matches `selfservice.allowed_return_urls` by string prefix, so `/dash` allows
 * `/dashboard-evil`; we match scheme and host (with port) exactly and the path by whole segments. A relative URL
 * (`/welcome`) is resolved against `default_browser_return_url` and allowed when that base is, as Kratos does.
 */

/** The path split into segments, ignoring empty ones ("/a//b/" -> ["a", "b"]). */
const segments = (path: string): string[] => path.split("/").filter((s) => s !== "");

/** Whether `candidate` is allowed by one allow-list entry (scheme + host exact, path by whole segments). */
export function matchesAllowed(candidate: URL, allowed: string): boolean {
  let a: URL;
  try {
    a = new URL(allowed);
  } catch {
    return false;
  }
  if (candidate.protocol !== a.protocol || candidate.host.toLowerCase() !== a.host.toLowerCase()) return false;
  // Decode percent-encoding of unreserved characters only through URL parsing: both are already normalized by URL.
  const want = segments(a.pathname);
  const got = segments(candidate.pathname);
  if (got.length < want.length) return false;
  return want.every((s, i) => s === got[i]);
}

/**
 * Resolves and checks a `return_to`. Returns the absolute URL to use, or undefined when the value is empty.
 * Throws `forbidden(value)` when it is not allowed. Only http(s) URLs (or relative paths) are ever accepted.
 */
export function checkReturnTo(
  value: string | undefined,
  opts: { allowed: readonly string[]; defaultReturnUrl: string },
  forbidden: (v: string) => Error,
): string | undefined {
  if (value === undefined || value === "") return undefined;
  let url: URL;
  const relative = value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\");
  try {
    url = relative ? new URL(value, opts.defaultReturnUrl) : new URL(value);
  } catch {
    throw forbidden(value);
  }
  if (url.username !== "" || url.password !== "") throw forbidden(value);
  if (relative) {
    const base = new URL(opts.defaultReturnUrl);
    if (url.origin === base.origin) return url.toString();
    throw forbidden(value);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    // Kratos allows custom schemes (exp://) when listed: keep that, but only on an exact entry match.
    if (!opts.allowed.some((a) => matchesAllowed(url, a))) throw forbidden(value);
    return url.toString();
  }
  const allowedList = [...opts.allowed, opts.defaultReturnUrl];
  if (!allowedList.some((a) => matchesAllowed(url, a))) throw forbidden(value);
  return url.toString();
}
