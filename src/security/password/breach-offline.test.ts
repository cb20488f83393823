import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, open, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha1Hex, startPwnedServer } from "../../../test/helpers/pwned-server.ts";
import type { PwnedServer } from "../../../test/helpers/pwned-server.ts";
import { searchSortedFile } from "./breach-offline.ts";
import { createPasswordPolicy, defaultPasswordPolicyConfig } from "./password-policy.ts";
import type { PasswordPolicyConfig } from "./password-policy.ts";

// A small corpus built from real SHA-1s of known passwords, sorted like the downloader's output.
const entries = Array.from({ length: 3000 }, (_, i) => ({ pw: `offline-corpus-pw-${i}-zq`, count: i + 1 }))
  .map((e) => ({ ...e, hash: sha1Hex(e.pw) }))
  .sort((a, b) => (a.hash < b.hash ? -1 : 1));
const first = entries[0];
const last = entries[entries.length - 1];
const middle = entries[1500];
const MISSING = "offline-corpus-missing-pw-77";
const id = { identifiers: ["carol@example.net"] };

let dir: string;
let lfFile: string;
let crlfFile: string;
let prefixDir: string;
let server: PwnedServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-pwned-"));
  lfFile = join(dir, "pwned-lf.txt");
  crlfFile = join(dir, "pwned-crlf.txt");
  await writeFile(lfFile, entries.map((e) => `${e.hash}:${e.count}\n`).join(""));
  // CRLF, and no line break after the last line.
  await writeFile(crlfFile, entries.map((e) => `${e.hash}:${e.count}`).join("\r\n"));
  prefixDir = join(dir, "ranges");
  await mkdir(prefixDir);
  // The directory holds the range files of a sample (writing ~3000 small files costs seconds of system time).
  const byPrefix = new Map<string, string[]>();
  for (const e of entries.filter((x, i) => i % 50 === 0 || x === middle || x === last)) {
    const lines = byPrefix.get(e.hash.slice(0, 5)) ?? [];
    lines.push(`${e.hash.slice(5)}:${e.count}`);
    byPrefix.set(e.hash.slice(0, 5), lines);
  }
  // MISSING's range file exists but holds only other suffixes: the lookup must say "absent", not "unreadable".
  if (!byPrefix.has(sha1Hex(MISSING).slice(0, 5))) byPrefix.set(sha1Hex(MISSING).slice(0, 5), []);
  for (const [prefix, lines] of byPrefix) {
    // Filler suffixes so each range file has dozens of lines and the search really bisects.
    for (let i = 0; i < 40; i++) lines.push(`${randomBytes(18).toString("hex").slice(0, 35).toUpperCase()}:${i + 1}`);
    lines.sort();
    await writeFile(join(prefixDir, `${prefix}.txt`), lines.join("\r\n") + "\r\n");
  }
  server = await startPwnedServer({ breached: { [MISSING]: 99 } });
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

function policy(file: string, over: Partial<PasswordPolicyConfig> = {}) {
  return createPasswordPolicy({ ...defaultPasswordPolicyConfig, haveibeenpwned_host: server.url, haveibeenpwned_file: file, ...over });
}

test("binary search finds every line of LF and CRLF files and misses absent keys", async () => {
  for (const file of [lfFile, crlfFile]) {
    const fh = await open(file, "r");
    try {
      const { size } = await fh.stat();
      // Every 5th line plus both ends keeps the test fast on 2 cores while crossing every region of the file.
      for (const [i, e] of entries.entries()) {
        if (i % 5 !== 0 && e !== last) continue;
        assert.equal(await searchSortedFile(fh, size, e.hash), e.count, `${file} ${e.hash}`);
      }
      for (const k of ["0".repeat(40), "F".repeat(40), sha1Hex(MISSING), `${first.hash.slice(0, 39)}0`]) {
        if (entries.some((e) => e.hash === k)) continue;
        assert.equal(await searchSortedFile(fh, size, k), 0, k);
      }
    } finally {
      await fh.close();
    }
  }
});

for (const layout of ["single file (LF)", "single file (CRLF)", "per-prefix directory"] as const) {
  test(`policy with an offline corpus, ${layout}: first, middle and last lines rejected, missing hash accepted, no online request`, async () => {
    const path = layout === "per-prefix directory" ? prefixDir : layout.includes("CRLF") ? crlfFile : lfFile;
    const p = policy(path);
    server.requests.length = 0;
    for (const e of [first, middle, last]) {
      const out = await p.check(e.pw, id);
      assert.deepEqual(out.map((m) => m.id), [4000034], e.pw);
      assert.equal(out[0].context?.breaches, e.count);
    }
    // Fail closed, so an unreadable corpus could not pass for "absent".
    const strict = policy(path, { ignore_network_errors: false });
    assert.deepEqual(await strict.check(MISSING, id), []);
    assert.equal(server.requests.length, 0);
    // max_breaches still applies: the first line's count is `first.count`.
    assert.deepEqual(await policy(path, { max_breaches: first.count }).check(first.pw, id), []);
  });
}

test("lines longer than one read chunk are followed across reads", async () => {
  const file = join(dir, "long-lines.txt");
  const some = entries.slice(0, 400);
  await writeFile(file, some.map((e) => `${e.hash}:${e.count}${" ".repeat(300)}\n`).join(""));
  const fh = await open(file, "r");
  try {
    const { size } = await fh.stat();
    for (const e of [some[0], some[137], some[399]]) assert.equal(await searchSortedFile(fh, size, e.hash), e.count);
    assert.equal(await searchSortedFile(fh, size, "F".repeat(40)), 0);
  } finally {
    await fh.close();
  }
});

test("per-prefix directory: a hash absent from an existing range file is accepted", async () => {
  // Borrow an existing prefix: the file exists, this suffix is not in it.
  const fake = `${first.hash.slice(0, 5)}${"0".repeat(35)}`;
  const fh = await open(join(prefixDir, `${first.hash.slice(0, 5)}.txt`), "r");
  try {
    assert.equal(await searchSortedFile(fh, (await fh.stat()).size, fake.slice(5)), 0);
    assert.equal(await searchSortedFile(fh, (await fh.stat()).size, first.hash.slice(5)), first.count);
  } finally {
    await fh.close();
  }
});

test("an unreadable corpus (missing range file or path) follows ignore_network_errors", async () => {
  const absent = "offline-corpus-no-range-file-pw-3";
  assert.ok(!existsSync(join(prefixDir, `${sha1Hex(absent).slice(0, 5)}.txt`)));
  assert.deepEqual(await policy(prefixDir, { ignore_network_errors: true }).check(absent, id), []);
  assert.deepEqual((await policy(prefixDir, { ignore_network_errors: false }).check(absent, id)).map((m) => m.id), [4000005]);
  const nowhere = join(dir, "does-not-exist.txt");
  assert.deepEqual((await policy(nowhere, { ignore_network_errors: false }).check(MISSING, id)).map((m) => m.id), [4000005]);
  assert.equal(server.requests.length, 0);
});
