/**
 * Child of `client-ip-messages.test.ts` (run with `node --import tsx`, outside the test runner, whose own async hook
 * keeps promise hooks on in its processes): a real app handles a registration, a verification submit, a recovery
 * submit, a wrong-password login and a held login (whose out-of-band message runs after the answer), then prints
 * `{"before":bool,"after":bool,"control":bool}`: whether V8 promise hooks were on before the requests, after them,
 * and while a probe hook was enabled (the check's own control).
 */
import { createHook, executionAsyncId } from "node:async_hooks";
import { createTestApp } from "../helpers/create-test-app.ts";

/** With promise hooks each `await` continuation runs in a fresh async resource; without, promise jobs carry none. */
async function promiseHooksOn(): Promise<boolean> {
  await null;
  const first = executionAsyncId();
  await null;
  return executionAsyncId() !== first;
}

const PASSWORD = "a sufficiently long and unusual passphrase";
const before = await promiseHooksOn();
const t = await createTestApp({ config: { selfservice: { flows: { recovery: { enabled: true }, verification: { enabled: true } } } } });
const pub = t.app.public;
const submit = async (kind: string, payload: Record<string, unknown>): Promise<number> => {
  const flow = (JSON.parse((await pub.inject({ method: "GET", url: `/self-service/${kind}/api` })).body) as { id: string }).id;
  const res = await pub.inject({ method: "POST", url: `/self-service/${kind}?flow=${flow}`, headers: { "content-type": "application/json", accept: "application/json" }, payload: JSON.stringify(payload) });
  return res.statusCode;
};
const expect = (what: string, got: number, want: number) => {
  if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
};
expect("registration", await submit("registration", { method: "password", password: PASSWORD, traits: { email: "gus@example.com" } }), 200);
expect("verification", await submit("verification", { method: "code", email: "gus@example.com" }), 200);
expect("recovery", await submit("recovery", { method: "code", email: "gus@example.com" }), 200);
expect("wrong password", await submit("login", { method: "password", identifier: "gus@example.com", password: "wrong passphrase entirely" }), 400);
expect("held login", await submit("login", { method: "password", identifier: "gus@example.com", password: PASSWORD }), 400);
// The held login's message goes out 100-600 ms after the answer.
const count = async () => (await t.app.deps.database.db.selectFrom("courier_messages").select("id").where("recipient", "=", "gus@example.com").execute()).length;
for (let i = 0; i < 150 && (await count()) < 4; i++) await new Promise((r) => setTimeout(r, 20));
if ((await count()) < 4) throw new Error(`the held login's verification message did not go out: ${await count()} messages`);
const afterRequests = await promiseHooksOn();
const hook = createHook({ init() {} }).enable();
const control = await promiseHooksOn();
hook.disable();
await t.close();
process.stdout.write(`${JSON.stringify({ before, after: afterRequests, control })}\n`);
