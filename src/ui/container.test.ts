import { test } from "node:test";
import assert from "node:assert/strict";
import { addMessage, addValidationErrors, findNode, newContainer, removeNode, resetMessages, resetValues, setCsrf, setNodeMessages, setNodeValue, upsertNode } from "./container.ts";
import { invalidCredentials, loginButton, maxLength, requiredProperty } from "./messages.ts";
import { inputNode, submitNode } from "./node.ts";

const form = () =>
  newContainer("http://127.0.0.1:4433/self-service/login?flow=1", [
    inputNode({ group: "default", name: "identifier", type: "text", value: "a@b.co", required: true }),
    inputNode({ group: "password", name: "password", type: "password", value: "secret", required: true }),
    submitNode("password", "password", loginButton()),
  ]);

test("form-wide messages and node messages by name", () => {
  const c = setCsrf(form(), "tok");
  assert.equal(c.method, "POST");
  addMessage(c, invalidCredentials());
  addMessage(c, requiredProperty("identifier"), "identifier");
  addMessage(c, maxLength(3, 4), "", " ");
  assert.deepEqual(c.messages?.map((m) => m.id), [4000006, 4000017]);
  assert.deepEqual(findNode(c, "identifier")?.messages.map((m) => m.id), [4000002]);
  assert.deepEqual(findNode(c, "csrf_token")?.attributes, { name: "csrf_token", type: "hidden", value: "tok", required: true, disabled: false, node_type: "input" });
  // a message for a node that does not exist creates it (Kratos AddMessage), so the error is not lost
  addMessage(c, requiredProperty("traits.website"), "traits.website");
  const created = findNode(c, "traits.website");
  assert.equal(created?.group, "default");
  assert.deepEqual(created?.messages.map((m) => m.id), [4000002]);
  setNodeMessages(c, "identifier", [invalidCredentials()]);
  assert.deepEqual(findNode(c, "identifier")?.messages.map((m) => m.id), [4000006]);
});

test("resetMessages clears everything but excluded nodes; JSON has no messages key afterwards", () => {
  const c = form();
  addMessage(c, invalidCredentials());
  addMessage(c, requiredProperty("identifier"), "identifier");
  addMessage(c, requiredProperty("password"), "password");
  resetMessages(c, "password");
  assert.equal("messages" in JSON.parse(JSON.stringify(c)), false);
  assert.deepEqual(findNode(c, "identifier")?.messages, []);
  assert.deepEqual(findNode(c, "password")?.messages.map((m) => m.id), [4000002]);
});

test("values, upsert and remove", () => {
  const c = setCsrf(form(), "tok");
  resetValues(c, "identifier");
  const v = (name: string) => {
    const a = findNode(c, name)?.attributes;
    return a?.node_type === "input" ? a.value : "absent";
  };
  assert.equal(v("identifier"), "a@b.co");
  assert.equal(v("password"), undefined);
  assert.equal(v("csrf_token"), "tok");
  assert.equal(v("method"), "password");
  setNodeValue(c, "password", "x");
  assert.equal(v("password"), "x");
  setCsrf(c, "tok2");
  assert.equal(c.nodes.filter((n) => n.attributes.node_type === "input" && n.attributes.name === "csrf_token").length, 1);
  assert.equal(v("csrf_token"), "tok2");
  // two "method" buttons of different groups coexist
  upsertNode(c, submitNode("code", "code", loginButton()));
  assert.equal(c.nodes.filter((n) => n.attributes.node_type === "input" && n.attributes.name === "method").length, 2);
  removeNode(c, "password");
  assert.equal(findNode(c, "password"), undefined);
});

test("addValidationErrors folds registry errors into nodes (empty name goes form-wide)", () => {
  const c = form();
  addValidationErrors(c, [
    { name: "identifier", message: requiredProperty("identifier") },
    { name: "", message: invalidCredentials() },
  ]);
  assert.deepEqual(findNode(c, "identifier")?.messages.map((m) => m.id), [4000002]);
  assert.deepEqual(c.messages?.map((m) => m.id), [4000006]);
});
