import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDatabase } from "../../src/persistence/db.ts";
import { ensureMigrated, isInMemoryDatabase } from "../../src/persistence/migrate.ts";
import { migrations } from "../../src/persistence/migrations/index.ts";
import { freePorts, killAll, serverConfig, startServer, tempDir, writeConfig, type TempDir } from "../compat/helpers.ts";

/**
 * `dsn: memory` without --dev: the database exists only inside the server process, so no `tessera migrate` can ever
 * prepare it. `serve` migrates it itself (as Kratos does); a file database still has to be migrated explicitly.
 */
const dirs: TempDir[] = [];
after(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => d.remove()));
});

describe("in-memory databases are migrated at start", { timeout: 300_000 }, () => {
  test("ensureMigrated migrates memory and sqlite://:memory:, still refuses a fresh file", async () => {
    for (const dsn of ["memory", "sqlite://:memory:"]) {
      const database = createDatabase(dsn);
      try {
        assert.equal(await isInMemoryDatabase(database), true, dsn);
        assert.deepEqual(await ensureMigrated(database), Object.keys(migrations), dsn);
        assert.deepEqual(await ensureMigrated(database), [], `${dsn}: nothing left to apply`);
      } finally {
        await database.destroy();
      }
    }
    const dir = await tempDir("tessera-mem-");
    dirs.push(dir);
    const file = createDatabase(`sqlite://${join(dir.path, "fresh.db")}`);
    try {
      assert.equal(await isInMemoryDatabase(file), false);
      await assert.rejects(ensureMigrated(file), /pending migration/);
    } finally {
      await file.destroy();
    }
  });

  test("tessera serve with dsn: memory and no --dev starts and serves the admin API", async () => {
    const dir = await tempDir("tessera-mem-");
    dirs.push(dir);
    const [publicPort, adminPort] = await freePorts(2);
    const configFile = await writeConfig(dir.path, serverConfig({ dir: dir.path, publicPort, adminPort, extra: { dsn: "memory" } }));
    const server = await startServer(configFile, { publicPort, adminPort });
    try {
      const created = await fetch(`${server.adminUrl}/admin/identities`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ schema_id: "default", traits: { email: "in-memory@example.com" } }),
      });
      assert.equal(created.status, 201, server.output());
      const { id } = (await created.json()) as { id: string };
      const got = await fetch(`${server.adminUrl}/admin/identities/${id}`);
      assert.equal(got.status, 200);
      assert.equal(((await got.json()) as { traits: { email: string } }).traits.email, "in-memory@example.com");
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
  });
});
