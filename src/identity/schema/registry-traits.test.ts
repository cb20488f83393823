import { test } from "node:test";
import assert from "node:assert/strict";
import { loadIdentitySchemas } from "./registry.ts";
import type { IdentitySchemaRegistry } from "./registry.ts";

const REF = "/work/shared/reference/kratos";

/** A schema exercising every keyword we map, plus an array of emails and a username identifier. */
const custom = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: {
    traits: {
      type: "object",
      properties: {
        email: { type: "string", format: "email", "ory.sh/kratos": { credentials: { password: { identifier: true } } } },
        username: {
          type: "string",
          minLength: 3,
          maxLength: 8,
          pattern: "^[a-zA-Z0-9_]+$",
          "ory.sh/kratos": { credentials: { password: { identifier: true }, totp: { account_name: true } } },
        },
        age: { type: "integer", minimum: 18, maximum: 130 },
        birthday: { type: "string", format: "date" },
        emails: {
          type: "array",
          maxItems: 2,
          uniqueItems: true,
          items: { type: "string", format: "email", "ory.sh/kratos": { recovery: { via: "email" }, verification: { via: "email" } } },
        },
      },
      required: ["email"],
      additionalProperties: false,
    },
  },
};

let reg: IdentitySchemaRegistry;
test.before(async () => {
  reg = await loadIdentitySchemas({
    schemas: [
      { id: "email-password", url: `file://${REF}/quickstart-email-password.identity.schema.json` },
      { id: "phone-password", url: `file://${REF}/quickstart-phone-password.identity.schema.json` },
      { id: "all", url: `file://${REF}/quickstart-all-strategies.identity.schema.json` },
      { id: "custom", url: `base64://${Buffer.from(JSON.stringify(custom)).toString("base64")}` },
    ],
    defaultId: "email-password",
    baseDir: "/",
  });
});

const brief = (errs: ReturnType<IdentitySchemaRegistry["validateTraits"]>) =>
  errs.map((e) => ({ pointer: e.pointer, name: e.name, id: e.message.id, context: e.message.context }));

test("valid traits give no errors", () => {
  assert.deepEqual(reg.validateTraits("email-password", { email: "a@example.com", name: { first: "A", last: "B" } }), []);
  assert.deepEqual(reg.validateTraits("custom", { email: "a@example.com", username: "al_1", age: 30, birthday: "2000-01-31" }), []);
});

test("required: 4000002 on the missing property with its last segment as {property}", () => {
  const errs = reg.validateTraits("email-password", { name: { first: "A" } });
  assert.deepEqual(brief(errs), [{ pointer: "#/traits/email", name: "traits.email", id: 4000002, context: { property: "email" } }]);
  assert.equal(errs[0].message.text, "Property email is missing.");
  assert.equal(errs[0].message.type, "error");
});

test("minLength 4000003, maxLength 4000017 and pattern 4000004 with Kratos contexts (code points, not UTF-16 units)", () => {
  assert.deepEqual(brief(reg.validateTraits("custom", { email: "a@example.com", username: "ab" })), [
    { pointer: "#/traits/username", name: "traits.username", id: 4000003, context: { min_length: 3, actual_length: 2 } },
  ]);
  assert.deepEqual(brief(reg.validateTraits("custom", { email: "a@example.com", username: "abcdefghij" })), [
    { pointer: "#/traits/username", name: "traits.username", id: 4000017, context: { max_length: 8, actual_length: 10 } },
  ]);
  const errs = reg.validateTraits("custom", { email: "a@example.com", username: "😀😀😀" });
  assert.deepEqual(brief(errs), [{ pointer: "#/traits/username", name: "traits.username", id: 4000004, context: { pattern: "^[a-zA-Z0-9_]+$" } }]);
  assert.equal(errs[0].message.text, 'does not match pattern "^[a-zA-Z0-9_]+$"');
});

test("format: email -> 4000040, tel -> 4000041, other formats -> 4000001 with the format reason", () => {
  assert.deepEqual(brief(reg.validateTraits("email-password", { email: "not-an-email" })), [
    { pointer: "#/traits/email", name: "traits.email", id: 4000040, context: { value: "not-an-email" } },
  ]);
  assert.deepEqual(brief(reg.validateTraits("phone-password", { email: "a@example.com", phone: "+1 555" })), [
    { pointer: "#/traits/phone", name: "traits.phone", id: 4000041, context: { value: "+1 555" } },
  ]);
  // no country code: not parsable as E.164
  assert.equal(reg.validateTraits("phone-password", { email: "a@example.com", phone: "4155552671" })[0]?.message.id, 4000041);
  const date = reg.validateTraits("custom", { email: "a@example.com", birthday: "31.01.2000" });
  assert.deepEqual(brief(date), [
    { pointer: "#/traits/birthday", name: "traits.birthday", id: 4000001, context: { reason: '"31.01.2000" is not valid "date"' } },
  ]);
});

test("wrong types -> 4000026; non-object traits never throw", () => {
  assert.deepEqual(brief(reg.validateTraits("email-password", { email: "a@example.com", name: { first: 42 } })), [
    { pointer: "#/traits/name/first", name: "traits.name.first", id: 4000026, context: { allowed_types: ["string"], actual_type: "number" } },
  ]);
  for (const [input, actual] of [["str", "string"], [null, "null"], [undefined, "null"], [[1], "array"], [7, "number"], [true, "boolean"]] as const) {
    const errs = reg.validateTraits("email-password", input);
    assert.deepEqual(brief(errs), [{ pointer: "#/traits", name: "traits", id: 4000026, context: { allowed_types: ["object"], actual_type: actual } }]);
  }
  assert.equal(reg.validateTraits("missing-schema", {})[0]?.message.id, 4000001);
});

test("numbers, arrays and additionalProperties map to their ids", () => {
  assert.deepEqual(brief(reg.validateTraits("custom", { email: "a@example.com", age: 12 })), [
    { pointer: "#/traits/age", name: "traits.age", id: 4000018, context: { minimum: 18, actual: 12 } },
  ]);
  assert.deepEqual(brief(reg.validateTraits("custom", { email: "a@example.com", age: 200 })), [
    { pointer: "#/traits/age", name: "traits.age", id: 4000020, context: { maximum: 130, actual: 200 } },
  ]);
  const arr = brief(reg.validateTraits("custom", { email: "a@example.com", emails: ["x@example.com", "x@example.com", "y@example.com"] }));
  assert.deepEqual(arr.map((e) => [e.pointer, e.id]), [
    ["#/traits/emails", 4000023],
    ["#/traits/emails", 4000025],
  ]);
  const extra = reg.validateTraits("email-password", { email: "a@example.com", admin: true });
  assert.deepEqual(brief(extra), [{ pointer: "#/traits", name: "traits", id: 4000001, context: { reason: 'additionalProperties "admin" not allowed' } }]);
});

test("several failures are all reported, each on its node", () => {
  const errs = brief(reg.validateTraits("custom", { username: "a", age: "x" }));
  assert.deepEqual(errs.map((e) => `${e.name}:${e.id}`).sort(), ["traits.age:4000026", "traits.email:4000002", "traits.username:4000003"]);
});

test("validation sees normalized traits: surrounding spaces and upper case in an email pass", () => {
  assert.deepEqual(reg.validateTraits("email-password", { email: "  Foo@Example.COM  " }), []);
  assert.deepEqual(reg.validateTraits("phone-password", { email: "a@example.com", phone: "+1 (415) 555-2671" }), []);
});

test("normalizeTraits: identifier fields only, input untouched", () => {
  const input = { email: " Ｆｏｏ@Example.COM ", phone: " +1 (415) 555-2671 " };
  const out = reg.normalizeTraits("phone-password", input);
  assert.deepEqual(out, { email: "foo@example.com", phone: "+14155552671" });
  assert.deepEqual(input, { email: " Ｆｏｏ@Example.COM ", phone: " +1 (415) 555-2671 " });
  // non-identifier traits keep their spelling; usernames keep their case
  assert.deepEqual(reg.normalizeTraits("email-password", { email: "A@B.CO", name: { first: " Ann " } }), { email: "a@b.co", name: { first: " Ann " } });
  assert.deepEqual(reg.normalizeTraits("custom", { email: "x@y.z", username: " Alice ", emails: [" B@C.D "] }), {
    email: "x@y.z",
    username: "Alice",
    emails: ["b@c.d"],
  });
});

test("extract: email-password quickstart", () => {
  assert.deepEqual(reg.extract("email-password", { email: " Foo@Example.com ", name: { first: "F" } }), {
    identifiers: { password: ["foo@example.com"], code: [], webauthn: [], passkey: [], totp: [] },
    verifiable_addresses: [{ value: "foo@example.com", via: "email" }],
    recovery_addresses: [{ value: "foo@example.com", via: "email" }],
  });
});

test("extract: phone-password quickstart gives the phone in E.164 as password identifier and sms address", () => {
  assert.deepEqual(reg.extract("phone-password", { email: "Foo@Example.com", phone: "+1 (415) 555-2671" }), {
    identifiers: { password: ["foo@example.com", "+14155552671"], code: ["foo@example.com"], webauthn: [], passkey: [], totp: [] },
    verifiable_addresses: [
      { value: "foo@example.com", via: "email" },
      { value: "+14155552671", via: "sms" },
    ],
    recovery_addresses: [],
  });
});

test("extract: all-strategies quickstart fills password, code, webauthn and passkey", () => {
  assert.deepEqual(reg.extract("all", { email: "Foo@Example.com" }), {
    identifiers: { password: ["foo@example.com"], code: ["foo@example.com"], webauthn: ["foo@example.com"], passkey: ["foo@example.com"], totp: [] },
    verifiable_addresses: [{ value: "foo@example.com", via: "email" }],
    recovery_addresses: [{ value: "foo@example.com", via: "email" }],
  });
});

test("extract: arrays of addresses, de-duplication after normalization, lower-cased username identifier", () => {
  const out = reg.extract("custom", { email: "a@example.com", username: "Alice", emails: ["B@example.com", " b@EXAMPLE.com", "c@example.com"] });
  assert.deepEqual(out.identifiers.password, ["a@example.com", "alice"]);
  assert.deepEqual(out.identifiers.totp, ["Alice"]);
  assert.deepEqual(out.recovery_addresses, [
    { value: "b@example.com", via: "email" },
    { value: "c@example.com", via: "email" },
  ]);
  assert.deepEqual(out.verifiable_addresses, out.recovery_addresses);
  // same identifier through two fields is listed once
  const dup = reg.extract("custom", { email: "alice", username: "ALICE" });
  assert.deepEqual(dup.identifiers.password, ["alice"]);
});
