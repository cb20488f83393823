// Every import format Kratos accepts, with vectors computed by independent implementations and pasted as literals:
// Python's hashlib / hmac / crypt (3.11) for the "py" vectors, Node's crypto for the firebase one, and vectors published
// in Kratos's own hash/hasher_test.go (Go's x/crypto and go-crypt) or the OpenBSD bcrypt suite. Each has a match and a
// mismatch; out-of-bounds costs are refused with a 400 in Kratos's error shape without being computed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AppError } from "../../util/app-error.ts";
import { createPasswordHasher, defaultHasherConfig } from "./hasher.ts";

const hasher = await createPasswordHasher({
  ...defaultHasherConfig,
  argon2: { ...defaultHasherConfig.argon2, memory: 64 * 1024, iterations: 1 },
  bcrypt: { cost: 4 },
});

const PY = "Tr0ub4dor&3 correct horse";

// [name, password, encoded hash]
const VECTORS: Array<[string, string, string]> = [
  // bcrypt: Kratos (Go) and the OpenBSD/John the Ripper reference vectors
  ["bcrypt kratos", "test", "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6"],
  ["bcrypt openbsd U*U", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"],
  ["bcrypt openbsd U*U*", "U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"],
  // argon2: Kratos (Go x/crypto)
  ["argon2id kratos", "test", "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw"],
  ["argon2id kratos t=5", "test", "$argon2id$v=19$m=32,t=5,p=4$cm94YnRVOW5jZzFzcVE4bQ$fBxypOL0nP/zdPE71JtAV71i487LbX3fJI5PoTN6Lp4"],
  ["argon2i kratos", "test", "$argon2i$v=19$m=65536,t=3,p=4$kk51rW/vxIVCYn+EG4kTSg$NyT88uraJ6im6dyha/M5jhXvpqlEdlS/9fEm7ScMb8c"],
  // pbkdf2: Python hashlib.pbkdf2_hmac (sha224/sha384 are SHA3 in Kratos); one Kratos vector
  ["pbkdf2-sha1 py", PY, "$pbkdf2-sha1$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$ZzRquJ3y10A5BhsrcnR8Fe1KTPuCEz+cOlHyY1FG5+k"],
  ["pbkdf2-sha224 (sha3) py", PY, "$pbkdf2-sha224$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$cmPbnpazM5365mI4d+necv7we3eMZNlWnCf2zFRroPw"],
  ["pbkdf2-sha256 py", PY, "$pbkdf2-sha256$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$ms2Ir5KsPlz9+hGvOgR7gNDqlA0Ranj64kurjC1luQg"],
  ["pbkdf2-sha384 (sha3) py", PY, "$pbkdf2-sha384$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$/Lt/fpv7KOmKwfNtOIQ3H8auuiW3U2D4Nuifomd9ALk"],
  ["pbkdf2-sha512 py", PY, "$pbkdf2-sha512$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$AftTeRqdHf1QCeX5DmjatHUDsMYKmvEolVKtHHH3IL8"],
  ["pbkdf2-sha256 kratos", "test", "$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI"],
  // scrypt: Python hashlib.scrypt (ln is N itself in Kratos's encoding); Kratos vector
  ["scrypt py", PY, "$scrypt$ln=1024,r=8,p=1$c2NyeXB0c2FsdHZhbHVlIQ==$EaPaU6OZR572J25SNFWQwoQKPsmygpDwL9sAah/tj4E="],
  ["scrypt kratos", "test", "$scrypt$ln=16384,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE="],
  // firebase scrypt: Node crypto (scryptSync + aes-256-ctr) and Kratos's vector
  ["firescrypt node", PY, "$firescrypt$ln=10,r=8,p=1$ZmJzYWx0LTAxMjM0NTY=$i/DubHLRZE8plSiMcSDTLuAtY6mEcNpQN+wmYql+a+Gl/fHZ7ckm45I0pGkN8Rj00pRQHfsMUjq0IX5hxeuytO8=$Qg==$ZmlyZWJhc2Utc2lnbmVyLWtleS1vZi1zb21lLWxlbmd0aC0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2Q="],
  ["firescrypt kratos", "8x4WjoDbSxJZdR", "$firescrypt$ln=14,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FOl6mChCyzpCPIQ7tku7nsQMTFtyOZSXXd7tjBa4NtimOx7v42Gv2SfzPQu1oxM2/k4SsbOu73wlKe1A==$Bw==$YE0dO4bwD4JnJafh6lZZfkp1MtKzuKAXQcDCJNJNyeCHairWHKENOkbh3dzwaCdizzOspwr/FITUVlnOAwPKyw=="],
  // SSHA family: Python hashlib (salt with non-ASCII bytes); Kratos vectors
  ["SSHA py", PY, "{SSHA}bnB/iUFOMNfyJ6Xo8arh+KXwNp0BAnNhbHR5/w=="],
  ["SSHA256 py", PY, "{SSHA256}57dYPLeeBiaMyfrHGwDQ+J0jPIhpRpSu9aSoP7obcc0BAnNhbHR5/w=="],
  ["SSHA512 py", PY, "{SSHA512}GnYwbWVkeu8CglNYOb79UmcPBkQuaRUrFhXMUL2yfZQYEtuEtflKqv6q+j5ZbDcHjF/UUzxJpXFPKX8LHgix5AECc2FsdHn/"],
  ["SSHA kratos", "test123", "{SSHA}JFZFs0oHzxbMwkSJmYVeI8MnTDy/276a"],
  // salted sha with a pattern ({SALT}::{PASSWORD}!{SALT}): Python hashlib; Kratos {SALT}$${PASSWORD}
  ["sha1 pattern py", PY, "$sha1$pf=e1NBTFR9Ojp7UEFTU1dPUkR9IXtTQUxUfQ==$cGVwcGVyNDI=$qaOOQ5bjsKhZ9q5t9svx9NSOskE="],
  ["sha256 pattern py", PY, "$sha256$pf=e1NBTFR9Ojp7UEFTU1dPUkR9IXtTQUxUfQ==$cGVwcGVyNDI=$sQ8o3b7/Sc6I+ycfXfPKI/SO0DVo/WPDjuDkhLG4jkU="],
  ["sha512 pattern py", PY, "$sha512$pf=e1NBTFR9Ojp7UEFTU1dPUkR9IXtTQUxUfQ==$cGVwcGVyNDI=$vPrVndyUqHG5pgdpcOrCZdJGTadvqG0GmCFGkAjnONy6lzK6EIv2+wTwJnHEoatXh4F6w1tuFAKf1aeK1cwWJg=="],
  ["sha256 pattern kratos", "test", "$sha256$pf=e1NBTFR9JCR7UEFTU1dPUkR9$NW9wbWtnejAzcg==$HokCOi9OtiZaZRvnkgemV3B4UUHpI7kA8zq/EZWH2NY="],
  // md5 plain and with a pattern: Python hashlib; Kratos
  ["md5 py", PY, "$md5$UPS5akJY/jUtd9Np6xOBqQ=="],
  ["md5 pattern py", PY, "$md5$pf=e1BBU1NXT1JEfXx7U0FMVH0=$bWQ1c2FsdA==$a03Uc4gWunezqxZm7oCQPQ=="],
  ["md5 kratos", "test", "$md5$CY9rzUYh03PK3k6DJie09g=="],
  // crypt(3): Python's crypt module (glibc); Kratos's empty-salt md5-crypt
  ["md5-crypt py", PY, "$md5-crypt$saltSALT$sMk2LYSoDE6/QsvlXJkR1/"],
  ["md5-crypt kratos empty salt", "test", "$md5-crypt$$whuMjZj.HMFoaTaZRRtkO0"],
  ["sha256-crypt py", PY, "$sha256-crypt$rounds=5000$saltSALTsaltSALT$5O5JzLJop.WEnpMxedVlJXP8FxQXyu3K0pMgFJUZZI/"],
  ["sha512-crypt py default rounds", PY, "$sha512-crypt$shortsalt$lAfYXosTM0w06iCe56xhxtEWjtTATDn2zA4Zgs3QTnjZWVMHC51BGKIH8gnBDGgPwqKQaByeY0v.fPTmDDyl1."],
  ["sha512-crypt py rounds", PY, "$sha512-crypt$rounds=12000$Zq9.Ab/c$LWOAF9aJMFlYTmrQW5MgBNJdyBJ9mQDD6rd5VegvG9Pqm7N0PjLfyZj0XY8Ej453ywn4S9a/zfPbf3rUneC1B."],
  // hmac: Python hmac (key "hmac-key-123"); md4 from Kratos (OpenSSL 3 has no md4 here)
  ["hmac-md4 kratos", "test", "$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNDU="],
  ["hmac-md5 py", PY, "$hmac-md5$YmVlMWU2MmEzMTBlMjg5YjQ1MWY3NjIwMGViN2U3YzE=$aG1hYy1rZXktMTIz"],
  ["hmac-sha1 py", PY, "$hmac-sha1$YWYwNzAzYWYyMjUxYTI1MTE2NzNmMjE3NmMwZTBlMTJhZTg5NDljNQ==$aG1hYy1rZXktMTIz"],
  ["hmac-sha224 py", PY, "$hmac-sha224$OWFjMzE2Y2UyMjg5NzdiZTc3OTQ3MjdiNDRhMDIyOWU4OWVmMzc1NDVlODAyY2U5YTU2NjM2ZTg=$aG1hYy1rZXktMTIz"],
  ["hmac-sha256 py", PY, "$hmac-sha256$MmU5Y2FhZjA4MGRmYWFiMjQwOGI4MzY3OGIzYTgxYWQ5ZTIwM2Q2NjBiZWM3NWU3YTJjZDlmYmEwZGMyZGM3Zg==$aG1hYy1rZXktMTIz"],
  ["hmac-sha384 py", PY, "$hmac-sha384$N2JiY2Y2ZWY4OTg2NjVhZDhkNGZkOWI4MzdhZjIyMThmMTk1ZWU1MmRlNTdjYjJjOWFhNWRlMWY4MWQ1NzYzYWFhMTJkMGI3YzhhYWEwNDgyYTRjYTdmNDg5MDg3ZjBj$aG1hYy1rZXktMTIz"],
  ["hmac-sha512 py", PY, "$hmac-sha512$NDJlYzE3NjE2MjY5ODU1OTMyYTBhYmE2ZDEwZjE2NzA2ZDcwODk3ODc2MTEzNzM3MGY5MzQ2MmI4NzUzNTVlODUwNWYzMmVhMmJmMDk5ZGQ5NTRiMGRmMmE4NmQ5YzMwMjA4NTBmMmZlNWY1MmIwNzk3YjdjMTI1YTM1NDBkYWQ=$aG1hYy1rZXktMTIz"],
];

for (const [name, password, encoded] of VECTORS) {
  test(`vector ${name}: imports, matches, and refuses a wrong password`, async () => {
    hasher.validateImport(encoded);
    assert.equal(await hasher.verify(password, encoded), true);
    assert.equal(await hasher.verify(`${password.slice(0, -1)}${password.endsWith("x") ? "y" : "x"}`, encoded), false);
  });
}

test("a tampered hash or a wrong hmac key never matches", async () => {
  assert.equal(await hasher.verify("test", "$2a$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL7"), false);
  assert.equal(await hasher.verify("test", "$argon2id$v=19$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRN2"), false);
  assert.equal(await hasher.verify("test", "$hmac-md4$MWQ5ZTI4Nzc2Zjg4YmE2MTQ5YjQ0OTMyOGE4NWU4YjA=$MTIzNA=="), false);
  assert.equal(await hasher.verify("test", "$md5$WhBei51A4TKXgNYuoiZdig=="), false);
});

test("unicode on legacy hashes: raw form first, then NFKC; case matters", async () => {
  // Python: md5 of the decomposed "Cafe\u0301-latte" as a legacy system stored it
  const decomposed = "$md5$sR/F1ixxp2dmBHpoz4EYig==";
  assert.equal(await hasher.verify("Cafe\u0301-latte", decomposed), true);
  assert.equal(await hasher.verify("caf\u00e9-latte", decomposed), false);
  // Python: md5 of NFKC("\ufb01le-\u216b-password") = "file-XII-password": the ligature form matches through NFKC
  const nfkc = "$md5$hIIi5A3uofVnnqzFmkGbxw==";
  assert.equal(await hasher.verify("\ufb01le-\u216b-password", nfkc), true);
  assert.equal(await hasher.verify("file-XII-password", nfkc), true);
  assert.equal(await hasher.verify("FILE-XII-PASSWORD", nfkc), false);
  // Python: pbkdf2-sha256 over an emoji passphrase with spaces
  const emoji = "$pbkdf2-sha256$i=1000,l=32$TmFDbC1zYWx0LTE2Ynl0ZQ$kZDM1jRlZDml5KEf66M9IIVZIug3Vcb0jdTyx+NYB/E";
  assert.equal(await hasher.verify("🔐 pass wörd 🦄", emoji), true);
  assert.equal(await hasher.verify("🔐 pass wörd 🦄 ", emoji), false);
});

function assertBadRequest(fn: () => void, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 400);
    assert.equal(e.id, "bad_request");
    assert.match(e.reason ?? "", reason);
    const body = e.toBody();
    assert.equal(body.error.status, "Bad Request");
    return true;
  });
}

test("import bounds and unknown formats are refused with 400, and never computed", async () => {
  const cases: Array<[string, RegExp]> = [
    ["$argon2id$v=19$m=1048577,t=2,p=1$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", /1 GiB/],
    ["$argon2id$v=16$m=32,t=2,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw", /version/],
    ["$2a$16$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", /cost 16/],
    ["$2a$03$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", /cost 3/],
    ["$pbkdf2-sha256$i=10000001,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI", /iterations/],
    ["$pbkdf2-sha3$i=1000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI", /digest/],
    ["$scrypt$ln=2097152,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=", /power of two/],
    ["$scrypt$ln=16385,r=8,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=", /power of two/],
    ["$scrypt$ln=1048576,r=16,p=1$2npRo7P03Mt8keSoMbyD/tKFWyUzjiQf2svUaNDSrhA=$MiCzNcIplSMqSBrm4HckjYqYhaVPPjTARTzwB1cVNYE=", /1 GiB/],
    ["$firescrypt$ln=21,r=8,p=1$sPtDhWcd1MfdAw==$xbSou7FO$Bw==$YE0dO4bw", /mem_cost/],
    ["$sha512-crypt$rounds=1000001$3LVbIAVxR//cRajw$uuNasMW.RYxlGzIRFU1Was70BPSa933AjxhZIGJdJBOlqJAHlgqa0yuiuq5JHF/ryNGryJkj87G9i3G2HPSXg1", /rounds/],
    ["$pbkdf2-sha256$aaaa$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI", /malformed/],
    ["$sha1$pf=e1NBTFR9e1BBU1NXT1JEfQ==$5opmkgz03r$2qU2SGWP8viTM1md3FiI3+rjWXQ=", /base64/],
    ["$hmac-md5$ZmU4Njk3Zjc0MmQwODA0MDVkMTI3MGU2MTYzMzE2Zjk=", /malformed/],
    ["{SSHA}tooshort", /SSHA/],
    ["$unknown$12$o6hx.Wog/wvFSkT/Bp/6DOxCtLRTDj7lm9on9suF/WaCGNVHbkfL6", /unknown/],
    ["plaintext-password", /unknown/],
  ];
  for (const [encoded, reason] of cases) {
    assertBadRequest(() => hasher.validateImport(encoded), reason);
    const started = Date.now();
    assert.equal(await hasher.verify("test", encoded), false, encoded);
    assert.ok(Date.now() - started < 200, `refused without computing: ${encoded}`);
  }
  assertBadRequest(() => hasher.validateImport(""), /empty/);
});
