/**
 * The bundled list of common passwords (NIST SP 800-63B 5.1.1.2: "passwords obtained from previous breach corpuses"
 * and "dictionary words"), checked offline on every new password whatever the breach-check settings.
 *
 * Source: `@zxcvbn-ts/language-common`'s `passwords-common`, a ranked list (most common first, ~49k entries, all
 * lower-case). We keep all of it (far beyond the 10,000 minimum). It is imported and turned into a Set once, on first
 * use, so a server that never registers anyone never pays for it.
 */

let loading: Promise<ReadonlySet<string>> | undefined;

/** The set of common passwords, lower-cased. Loaded once; concurrent first callers share one load. */
export function commonPasswords(): Promise<ReadonlySet<string>> {
  loading ??= import("@zxcvbn-ts/language-common").then(({ dictionary }) => {
    const list = dictionary["passwords-common"];
    return new Set(list.map((p) => p.normalize("NFKC").toLowerCase()));
  });
  return loading;
}

/** True when the (NFKC-normalized) password, compared case-insensitively, is on the bundled list. */
export async function isCommonPassword(normalizedPassword: string): Promise<boolean> {
  return (await commonPasswords()).has(normalizedPassword.toLowerCase());
}
