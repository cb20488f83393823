import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { describeEachDatabase } from "../../test/helpers/databases.ts";
import { createDatabase, type Database } from "../persistence/db.ts";
import { migrator } from "../persistence/migrate.ts";
import { csrfNode } from "../ui/node.ts";
import { createFlowRepo } from "./flow-repo.ts";
import { flowJsonText, flowToJson, newFlow, type Flow } from "./flow.ts";

describeEachDatabase("flow repo", (ctx) => {
  let database: Database;
  let drop: () => Promise<void>;
  before(async () => {
    const d = await ctx.dsn();
    drop = d.drop;
    database = createDatabase(d.dsn);
    await migrator(database).up();
  });
  after(async () => {
    await database.destroy();
    await drop();
  });

  const make = (): Flow => {
    const flow = newFlow({
      kind: "login",
      type: "api",
      now: new Date("2026-12-04T10:00:00.000Z"),
      lifespan: 600_000,
      requestUrl: "http://127.0.0.1:4433/self-service/login/api",
      publicBaseUrl: "http://127.0.0.1:4433/",
      csrfToken: "",
      internal: { refresh: false, requested_aal: "aal1" },
    });
    flow.ui.nodes.push(csrfNode(""));
    return flow;
  };

  test("create, get and update round-trip every column; the UI is written back whether or not it was read", async () => {
    const repo = createFlowRepo(database);
    const flow = make();
    await repo.create(flow);
    const got = await repo.get(flow.id.toUpperCase());
    assert.ok(got);
    assert.deepEqual({ ...got }, { ...flow });

    // Untouched UI: the other columns change, the UI stays as stored.
    got.state = "passed_challenge";
    got.active = "password";
    got.submit_count = 1;
    got.updated_at = "2026-12-04T10:00:01.000Z";
    await repo.update(got);
    const after1 = await repo.get(flow.id);
    assert.ok(after1);
    assert.equal(after1.state, "passed_challenge");
    assert.equal(after1.active, "password");
    assert.equal(after1.submit_count, 1);
    assert.deepEqual(after1.ui, flow.ui);

    // A UI mutated after reading it is stored; so is one replaced outright.
    after1.ui.messages = [{ id: 4000006, type: "error", text: "x" }];
    await repo.update(after1);
    const after2 = await repo.get(flow.id);
    assert.deepEqual(after2?.ui.messages, [{ id: 4000006, type: "error", text: "x" }]);
    assert.ok(after2);
    after2.ui = { ...after2.ui, nodes: [] };
    await repo.update(after2);
    const after3 = await repo.get(flow.id);
    assert.deepEqual(after3?.ui.nodes, []);
    assert.equal(JSON.stringify(after3), JSON.stringify(await repo.get(flow.id)), "serializes like a plain object");
    assert.equal(await repo.get("not-a-uuid"), undefined);
  });

  test("uiText: the UI text just written, while untouched and in wire form; the flow's JSON is the same either way", async () => {
    const repo = createFlowRepo(database);
    const flow = make();
    const expected = JSON.stringify(flowToJson(flow));
    assert.equal(repo.uiText(flow), undefined);
    await repo.create(flow);
    const text = repo.uiText(flow);
    assert.equal(text, JSON.stringify(flow.ui === undefined ? null : flowToJson(flow).ui));
    // Reading the UI (above) forgets the text; the flow JSON is built the usual way then.
    assert.equal(repo.uiText(flow), undefined);
    assert.equal(flowJsonText(flow, repo.uiText(flow)), expected);

    // After an update of a changed UI the new text is kept; a change through `flow.ui` afterwards drops it.
    flow.ui.messages = [{ id: 4000006, type: "error", text: "x" }];
    await repo.update(flow);
    const spliced = flowJsonText(flow, repo.uiText(flow));
    assert.ok(repo.uiText(flow));
    assert.equal(spliced, JSON.stringify(flowToJson(flow)));
    flow.ui.nodes = [];
    assert.equal(repo.uiText(flow), undefined);
    await repo.update(flow);
    assert.deepEqual((await repo.get(flow.id))?.ui.nodes, []);

    // Not in wire form (an empty messages list is left out of the wire JSON): no text.
    flow.ui.messages = [];
    await repo.update(flow);
    assert.equal(repo.uiText(flow), undefined);
    // Flows read back are not offered either (their stored text may predate the wire form).
    const got = await repo.get(flow.id);
    assert.ok(got);
    assert.equal(repo.uiText(got), undefined);
    // Without a `return_to`, `active` or login fields the splice still gives valid, identical JSON.
    const reg = { ...make(), kind: "registration" as const, active: "password" };
    await repo.create(reg);
    assert.equal(flowJsonText(reg, repo.uiText(reg)), JSON.stringify(flowToJson(reg)));
  });
});
