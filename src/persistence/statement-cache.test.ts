import { test } from "node:test";
import assert from "node:assert/strict";
import SQLite from "better-sqlite3";
import { withStatementCache } from "./db.ts";

test("SQLite statements are prepared once per SQL text, bounded, least recently used out first", () => {
  const conn = withStatementCache(new SQLite(":memory:"), 2);
  conn.exec("create table t (x integer)");
  const a1 = conn.prepare("select 1 as one");
  assert.equal(conn.prepare("select 1 as one"), a1, "same SQL, same statement");
  const b = conn.prepare("select 2 as two");
  assert.notEqual(b, a1);
  conn.prepare("select 1 as one"); // touch a: b is now the least recently used
  conn.prepare("select 3 as three"); // evicts b
  assert.equal(conn.prepare("select 1 as one"), a1);
  assert.notEqual(conn.prepare("select 2 as two"), b, "evicted statements are prepared again");
  // A cached statement stays usable with new parameters.
  const ins = conn.prepare("insert into t (x) values (?)");
  ins.run(1);
  conn.prepare("insert into t (x) values (?)").run(2);
  assert.deepEqual(conn.prepare("select x from t order by x").all(), [{ x: 1 }, { x: 2 }]);
  conn.close();
});
