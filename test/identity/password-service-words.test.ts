import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTestApp, type TestApp } from "../helpers/create-test-app.ts";

/**
 * The password policy's similarity check covers the service's own name, from the config: `courier.smtp.from_name`
 * and the host of `serve.public.base_url` (docs/password-policy.md). Driven through API registration.
 */
interface Node {
  attributes: { name: string };
  messages: Array<{ id: number }>;
}

describe("password similarity to the service name (from the config)", () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      config: {
        serve: { public: { base_url: "https://id.quillback-bank.example/" } },
        courier: { smtp: { from_name: "Zephyrine Accounts" } },
      },
    });
  });
  after(async () => t.close());

  async function register(email: string, password: string) {
    const flow = await t.app.public.inject({ url: "/self-service/registration/api" });
    assert.equal(flow.statusCode, 200, flow.body);
    const id = flow.json<{ id: string }>().id;
    return t.app.public.inject({
      method: "POST",
      url: `/self-service/registration?flow=${id}`,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ method: "password", password, traits: { email } }),
    });
  }
  const passwordMessageIds = (res: { json<T>(): T }): number[] =>
    res.json<{ ui: { nodes: Node[] } }>().ui.nodes.find((n) => n.attributes.name === "password")?.messages.map((m) => m.id) ?? [];

  test("a password close to courier.smtp.from_name is refused with 4000031", async () => {
    const res = await register("someone@mail.test", "Zephyrine-Accounts!");
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(passwordMessageIds(res), [4000031]);
  });

  test("a password built on the public host name is refused with 4000031", async () => {
    const res = await register("other@mail.test", "quillback-bank.example7");
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(passwordMessageIds(res), [4000031]);
  });

  test("an unrelated password registers", async () => {
    const res = await register("third@mail.test", "aurora-kettle-3302");
    assert.equal(res.statusCode, 200, res.body);
  });
});
