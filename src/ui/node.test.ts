import { test } from "node:test";
import assert from "node:assert/strict";
import { loadIdentitySchemas } from "../identity/schema/registry.ts";
import type { IdentitySchema } from "../identity/schema/registry.ts";
import { loginButton, passwordLabel } from "./messages.ts";
import { csrfNode, inputNode, submitNode, traitsNodes } from "./node.ts";

const REF = "/work/shared/reference/kratos";

async function quickstart(name: string): Promise<IdentitySchema> {
  const reg = await loadIdentitySchemas({
    schemas: [{ id: "default", url: `file://${REF}/quickstart-${name}.identity.schema.json` }],
    defaultId: "default",
    baseDir: "/",
  });
  const s = reg.get("default");
  assert.ok(s);
  return s;
}

test("traitsNodes for the email-password quickstart: one input per trait, Kratos's generated labels", async () => {
  const nodes = traitsNodes(await quickstart("email-password"), "default");
  assert.deepEqual(JSON.parse(JSON.stringify(nodes)), [
    {
      type: "input",
      group: "default",
      attributes: { name: "traits.email", type: "email", required: true, autocomplete: "email", disabled: false, node_type: "input" },
      messages: [],
      meta: { label: { id: 1070002, text: "E-Mail", type: "info", context: { title: "E-Mail", name: "traits.email" } } },
    },
    {
      type: "input",
      group: "default",
      attributes: { name: "traits.name.first", type: "text", disabled: false, node_type: "input" },
      messages: [],
      meta: { label: { id: 1070002, text: "First Name", type: "info", context: { title: "First Name", name: "traits.name.first" } } },
    },
    {
      type: "input",
      group: "default",
      attributes: { name: "traits.name.last", type: "text", disabled: false, node_type: "input" },
      messages: [],
      meta: { label: { id: 1070002, text: "Last Name", type: "info", context: { title: "Last Name", name: "traits.name.last" } } },
    },
  ]);
});

test("traitsNodes prefills values and maps formats, types and identifiers", async () => {
  const phone = traitsNodes(await quickstart("phone-password"), "password", { email: "a@b.co", phone: "+14155552671" });
  assert.deepEqual(
    phone.map((n) => (n.attributes.node_type === "input" ? [n.group, n.attributes.name, n.attributes.type, n.attributes.autocomplete, n.attributes.value, n.attributes.required] : [])),
    [
      ["password", "traits.email", "email", "email", "a@b.co", true],
      ["password", "traits.phone", "tel", "tel", "+14155552671", true],
    ],
  );
  const custom: IdentitySchema = {
    id: "c",
    url: "base64://",
    schema: {
      properties: {
        traits: {
          type: "object",
          required: ["nick", "prefs"],
          properties: {
            nick: { type: "string", pattern: "^[a-z]+$", "ory.sh/kratos": { credentials: { password: { identifier: true } } } },
            age: { type: "integer" },
            score: { type: "number" },
            newsletter: { type: "boolean" },
            born: { type: "string", format: "date" },
            tags: { type: "array", items: { type: "string" } },
            prefs: { type: "object", required: ["lang"], properties: { lang: { $ref: "#/definitions/lang" } } },
            addr: { type: "object", required: ["city"], properties: { city: { type: "string" } } },
          },
        },
      },
      definitions: { lang: { type: "string", title: "Language" } },
    },
  };
  const rows = traitsNodes(custom, "profile", { newsletter: true, prefs: { lang: "de" } }).map((n) =>
    n.attributes.node_type === "input" ? `${n.attributes.name}:${n.attributes.type}:${n.attributes.autocomplete ?? "-"}:${n.attributes.required ?? false}:${String(n.attributes.value ?? "")}:${n.attributes.pattern ?? ""}:${n.meta.label?.text ?? ""}` : "",
  );
  assert.deepEqual(rows, [
    "traits.nick:text:username:true::^[a-z]+$:",
    "traits.age:number:-:false:::",
    "traits.score:number:-:false:::",
    "traits.newsletter:checkbox:-:false:true::",
    "traits.born:date:-:false:::",
    "traits.prefs.lang:text:-:true:de::Language",
    // required inside an optional object is not required on the form
    "traits.addr.city:text:-:false:::",
  ]);
});

test("csrfNode, submitNode and inputNode shapes", () => {
  assert.deepEqual(csrfNode("tok"), {
    type: "input",
    group: "default",
    attributes: { name: "csrf_token", type: "hidden", value: "tok", required: true, disabled: false, node_type: "input" },
    messages: [],
    meta: {},
  });
  assert.deepEqual(submitNode("password", "password", loginButton()), {
    type: "input",
    group: "password",
    attributes: { name: "method", type: "submit", value: "password", disabled: false, node_type: "input" },
    messages: [],
    meta: { label: loginButton() },
  });
  const pw = inputNode({ group: "password", name: "password", type: "password", required: true, autocomplete: "current-password", label: passwordLabel() });
  assert.deepEqual(pw.attributes, { name: "password", type: "password", required: true, autocomplete: "current-password", disabled: false, node_type: "input" });
  assert.equal(pw.meta.label?.id, 1070001);
  assert.equal("value" in pw.attributes, false, "no value key when none given");
});
