import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { randomUUID } from "node:crypto";
import { Configuration, IdentityApi, MetadataApi, type Identity } from "@ory/kratos-client";
import { parse as parseYaml } from "yaml";
import { freePorts, killAll, REPO_ROOT, runCli, startMigratedServer, startServer, tempDir, writeConfig, type MigratedServer, type RunningServer, type TempDir } from "./helpers.ts";

/**
 * Black box: the real `tessera serve` (child process, SQLite file, free ports) driven by Ory's own client,
 * `@ory/kratos-client` 26.2.0. If the SDK can do it against Kratos, it must work against us unchanged.
 */

const VERSION = (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const TOTAL = 600;

/** The `rel="next"` target of a Link header (RFC 8288), as Kratos sends it, or undefined on the last page. */
function nextPageToken(link: string | undefined): string | undefined {
  assert.ok(link, "every list response carries a Link header");
  const next = link.split(",").find((part) => /;\s*rel="next"/.test(part));
  if (!next) return undefined;
  const target = /<([^>]+)>/.exec(next)?.[1];
  assert.ok(target, `malformed Link part: ${next}`);
  const token = new URL(target, "http://x").searchParams.get("page_token");
  assert.ok(token, `rel="next" without page_token: ${next}`);
  return token;
}

/** The Kratos error body of a failed SDK call. */
function kratosError(e: unknown): { status: number; error: { id?: string; code: number; status: string; message: string; reason?: string } } {
  // The SDK bundles its own (CommonJS) axios: duck-type its error instead of `instanceof`.
  const response = (e as { isAxiosError?: boolean; response?: { status: number; data: unknown } }).response;
  assert.ok((e as { isAxiosError?: boolean }).isAxiosError && response, `expected an HTTP error, got ${String(e)}`);
  const body = response.data as { error: { code: number; status: string; message: string } };
  assert.equal(typeof body.error?.message, "string", "Kratos error shape");
  assert.equal(body.error.code, response.status);
  return { status: response.status, error: body.error };
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail("the call succeeded, expected an error");
}

const email = (i: number) => `user-${String(i).padStart(4, "0")}@example.com`;

describe("admin identity API through @ory/kratos-client against `tessera serve`", { timeout: 300_000 }, () => {
  let server: MigratedServer;
  let identities: IdentityApi;
  const created = new Map<string, string>(); // id -> email

  before(async () => {
    server = await startMigratedServer();
    identities = new IdentityApi(new Configuration({ basePath: server.adminUrl }));
  });
  after(async () => {
    await killAll();
    await server?.dir.remove();
  });

  test("MetadataApi: isAlive, isReady, getVersion on both listeners", async () => {
    for (const basePath of [server.adminUrl, server.publicUrl]) {
      const meta = new MetadataApi(new Configuration({ basePath }));
      assert.deepEqual((await meta.isAlive()).data, { status: "ok" });
      assert.deepEqual((await meta.isReady()).data, { status: "ok" });
      assert.deepEqual((await meta.getVersion()).data, { version: VERSION });
    }
  });

  test("createIdentity: 100 one by one (one with a password), 409 on a duplicate identifier", async () => {
    const bodies = Array.from({ length: 100 }, (_, i) => ({
      schema_id: "default",
      traits: { email: email(i), name: { first: `User${i}` } },
      ...(i === 0 ? { credentials: { password: { config: { password: "correct horse battery staple 0" } } } } : {}),
    }));
    for (let i = 0; i < bodies.length; i += 10) {
      const batch = await Promise.all(bodies.slice(i, i + 10).map((createIdentityBody) => identities.createIdentity({ createIdentityBody })));
      for (const res of batch) {
        assert.equal(res.status, 201);
        created.set(res.data.id, res.data.traits.email as string);
      }
    }
    assert.equal(created.size, 100);
    const dup = kratosError(await rejects(identities.createIdentity({ createIdentityBody: { schema_id: "default", traits: { email: email(5).toUpperCase() } } })));
    assert.equal(dup.status, 409);
  });

  test("batchPatchIdentities: 500 created in one call, bad entries answered per patch_id", async () => {
    const bad = { invalid: randomUUID(), duplicate: randomUUID() };
    const res = await identities.batchPatchIdentities({
      patchIdentitiesBody: {
        identities: [
          ...Array.from({ length: 500 }, (_, k) => ({ patch_id: randomUUID(), create: { schema_id: "default", traits: { email: email(100 + k) } } })),
          { patch_id: bad.invalid, create: { schema_id: "default", traits: { email: "not an email" } } },
          { patch_id: bad.duplicate, create: { schema_id: "default", traits: { email: email(1) } } },
        ],
      },
    });
    assert.equal(res.status, 200);
    const results = res.data.identities ?? [];
    assert.equal(results.length, 502);
    const ok = results.filter((r) => r.action === "create");
    assert.equal(ok.length, 500);
    for (const r of ok) {
      assert.match(r.identity ?? "", /^[0-9a-f-]{36}$/);
      created.set(r.identity!, "");
    }
    const byPatch = new Map(results.map((r) => [r.patch_id, r]));
    const invalid = byPatch.get(bad.invalid);
    assert.equal(invalid?.action, "error");
    assert.equal((invalid?.error as { code: number }).code, 400);
    const duplicate = byPatch.get(bad.duplicate);
    assert.equal(duplicate?.action, "error");
    assert.equal((duplicate?.error as { code: number }).code, 409);
    assert.equal(created.size, TOTAL);
  });

  test("listIdentities: every page through the Link header's rel=next page_token, for two page sizes", async () => {
    const expected = [...created.keys()].sort();
    for (const pageSize of [250, 100]) {
      const seen: string[] = [];
      const sizes: number[] = [];
      let pageToken: string | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const res = await identities.listIdentities({ pageSize, pageToken });
        assert.equal(res.status, 200);
        sizes.push(res.data.length);
        seen.push(...res.data.map((i: Identity) => i.id));
        pageToken = nextPageToken(res.headers.link as string | undefined);
        if (!pageToken) break;
      }
      // 600 is a multiple of 100: the last full page must not announce an empty next page.
      assert.deepEqual(sizes, pageSize === 250 ? [250, 250, 100] : [100, 100, 100, 100, 100, 100]);
      assert.deepEqual(seen, expected, "keyset order by id, each identity exactly once");
    }
  });

  test("listIdentities: credentials_identifier finds exactly one identity", async () => {
    const res = await identities.listIdentities({ credentialsIdentifier: email(123) });
    assert.equal(res.data.length, 1);
    assert.equal(res.data[0].traits.email, email(123));
    assert.equal(nextPageToken(res.headers.link as string | undefined), undefined);
  });

  test("getIdentity: traits, addresses, credentials without secrets unless include_credential asks", async () => {
    const [id] = [...created].find(([, e]) => e === email(0)) ?? [];
    assert.ok(id);
    const plain = (await identities.getIdentity({ id })).data;
    assert.equal(plain.traits.email, email(0));
    assert.equal(plain.traits.name.first, "User0");
    assert.equal(plain.verifiable_addresses?.[0]?.value, email(0));
    assert.equal(plain.verifiable_addresses?.[0]?.verified, false);
    assert.equal(plain.recovery_addresses?.[0]?.value, email(0));
    assert.deepEqual(plain.credentials?.password?.identifiers, [email(0)]);
    assert.equal(plain.credentials?.password?.config, undefined);
    const full = (await identities.getIdentity({ id, includeCredential: ["password"] })).data;
    assert.match(String((full.credentials?.password?.config as { hashed_password?: string }).hashed_password), /^\$argon2id\$v=19\$m=\d+,t=1,p=1\$/);
    const missing = kratosError(await rejects(identities.getIdentity({ id: randomUUID() })));
    assert.equal(missing.status, 404);
  });

  test("patchIdentity: JSON Patch of traits and metadata; a new email moves the identifier; denied paths are 400", async () => {
    const [id] = [...created].find(([, e]) => e === email(7)) ?? [];
    assert.ok(id);
    const patched = await identities.patchIdentity({
      id,
      jsonPatch: [
        { op: "replace", path: "/traits/name/first", value: "Patched" },
        { op: "replace", path: "/traits/email", value: "Moved@Example.com" },
        { op: "add", path: "/metadata_public", value: { tier: 2 } },
      ],
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.data.traits.name.first, "Patched");
    assert.equal(patched.data.traits.email, "moved@example.com");
    assert.deepEqual(patched.data.metadata_public, { tier: 2 });
    const again = (await identities.getIdentity({ id })).data;
    assert.deepEqual(again.credentials?.password?.identifiers, ["moved@example.com"]);
    assert.equal((await identities.listIdentities({ credentialsIdentifier: "moved@example.com" })).data[0]?.id, id);
    assert.equal((await identities.listIdentities({ credentialsIdentifier: email(7) })).data.length, 0);
    const denied = kratosError(await rejects(identities.patchIdentity({ id, jsonPatch: [{ op: "remove", path: "/credentials" }] })));
    assert.equal(denied.status, 400);
    const invalid = kratosError(await rejects(identities.patchIdentity({ id, jsonPatch: [{ op: "replace", path: "/traits/email", value: "nope" }] })));
    assert.equal(invalid.status, 400);
  });

  test("deleteIdentity: 204, then 404 on get and delete", async () => {
    const [id] = [...created].find(([, e]) => e === email(9)) ?? [];
    assert.ok(id);
    assert.equal((await identities.deleteIdentity({ id })).status, 204);
    assert.equal(kratosError(await rejects(identities.getIdentity({ id }))).status, 404);
    assert.equal(kratosError(await rejects(identities.deleteIdentity({ id }))).status, 404);
    const first = await identities.listIdentities({ pageSize: 500 });
    const second = await identities.listIdentities({ pageSize: 500, pageToken: nextPageToken(first.headers.link as string | undefined) });
    const ids = [...first.data, ...second.data].map((i: Identity) => i.id);
    assert.equal(ids.length, TOTAL - 1);
    assert.ok(!ids.includes(id));
  });
});

describe("Kratos's email-password quickstart config starts `tessera serve`", { timeout: 240_000 }, () => {
  let dir: TempDir;
  let server: RunningServer | undefined;
  after(async () => {
    await killAll();
    await dir?.remove();
  });

  test("adapted only in dsn, schema url and secrets: migrate, serve, ready; bcrypt cost 8 from the file is used", async () => {
    dir = await tempDir();
    const testdata = join(REPO_ROOT, "src/config/testdata");
    const kratos = parseYaml(await readFile(join(testdata, "quickstart-email-password.kratos.yml"), "utf8")) as {
      dsn: string;
      identity: { schemas: Array<{ url: string }> };
      secrets: Record<string, string[]>;
    };
    kratos.dsn = `sqlite://${join(dir.path, "kratos.db")}?_fk=true`;
    kratos.identity.schemas[0].url = pathToFileURL(join(testdata, "quickstart-email-password.identity.schema.json")).href;
    kratos.secrets.default = ["a-default-secret-at-least-32-chars!"];
    const file = await writeConfig(dir.path, kratos, "kratos.yml");
    // Ports and the public host through Kratos's environment convention, as docker-compose would.
    const [publicPort, adminPort] = await freePorts(2);
    const env = { SERVE_PUBLIC_PORT: String(publicPort), SERVE_ADMIN_PORT: String(adminPort), SERVE_PUBLIC_HOST: "127.0.0.1" };
    const migrated = await runCli(["migrate", "sql", "up", "-c", file, "--yes"], { env });
    assert.equal(migrated.code, 0, migrated.stderr);
    server = await startServer(file, { publicPort, adminPort, env });
    for (const basePath of [server.adminUrl, server.publicUrl]) {
      assert.deepEqual((await new MetadataApi(new Configuration({ basePath })).isReady()).data, { status: "ok" });
    }
    assert.match(server.output(), /\/selfservice\/methods\/totp/, "unsupported Kratos keys are named in a warning");
    const api = new IdentityApi(new Configuration({ basePath: server.adminUrl }));
    const { data } = await api.createIdentity({
      createIdentityBody: { schema_id: "default", traits: { email: "quick@example.com" }, credentials: { password: { config: { password: "a quickstart passphrase" } } } },
    });
    const full = (await api.getIdentity({ id: data.id, includeCredential: ["password"] })).data;
    assert.match(String((full.credentials?.password?.config as { hashed_password?: string }).hashed_password), /^\$2[aby]\$08\$/);
    assert.equal(await server.stop(), 0, "SIGTERM shuts down cleanly");
  });
});
