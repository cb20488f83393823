import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { createHttpInstance } from "../../src/http/server.ts";
import { createIdentityRepo } from "../../src/identity/identity-repo.ts";
import type { Identity } from "../../src/identity/identity.ts";
import { createDatabase } from "../../src/persistence/db.ts";
import { migrator } from "../../src/persistence/migrate.ts";
import { createSessionService, registerSessionAdminRoutes, registerSessionRoutes } from "../../src/session/session-service.ts";
import { registerLogoutRoutes } from "../../src/flow/logout/routes.ts";
import { createManualClock } from "../../src/util/clock.ts";
import { newId } from "../../src/util/ids.ts";

/**
 * Real wiring of the session and logout routes for tests, until the shared `createTestApp` exists: a temp SQLite file
 * with every migration applied, the real identity repository, a manual clock, and the public and admin Fastify
 * instances built by `createHttpInstance` (same error handling as production). Nothing is mocked.
 */
export const HOUR = 3_600_000;
export const PUBLIC_BASE = "http://127.0.0.1:4433/";
export const UI_BASE = "http://127.0.0.1:4455/";

export async function createSessionHarness(opts: { lifespan?: number; earliestPossibleExtend?: number; persistent?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tessera-session-"));
  const file = join(dir, "t.db");
  const database = createDatabase(`sqlite://${file}`);
  await migrator(database).up();
  const clock = createManualClock(new Date("2026-12-03T10:00:00.000Z"));
  const repo = createIdentityRepo(database);
  const config = {
    session: {
      lifespan: opts.lifespan ?? 24 * HOUR,
      earliest_possible_extend: opts.earliestPossibleExtend ?? HOUR,
      cookie: { name: "ory_kratos_session", persistent: opts.persistent ?? true, same_site: "Lax" as const, path: "/" },
    },
    selfservice: {
      default_browser_return_url: `${UI_BASE}welcome`,
      allowed_return_urls: [`${UI_BASE}dashboard`],
      flows: { logout: { after: {} } },
    },
  };
  const sessions = createSessionService({ database, repo, clock, config, publicBaseUrl: PUBLIC_BASE, dev: true });
  const logger = pino({ level: "silent" });
  const pub = createHttpInstance({ logger, bodyLimit: 1 << 20 });
  registerSessionRoutes(pub, { sessions });
  registerLogoutRoutes(pub, { sessions, config, publicBaseUrl: PUBLIC_BASE });
  const admin = createHttpInstance({ logger, bodyLimit: 1 << 20 });
  const adminRoutes = async (scope: FastifyInstance) => registerSessionAdminRoutes(scope, { sessions, repo });
  await admin.register(adminRoutes, { prefix: "/admin" });
  await admin.register(adminRoutes);
  await Promise.all([pub.ready(), admin.ready()]);

  async function createIdentity(email = `${newId()}@example.com`): Promise<Identity> {
    const now = clock.now().toISOString();
    const identity: Identity = {
      id: newId(),
      schema_id: "default",
      state: "active",
      traits: { email },
      metadata_public: { plan: "free" },
      metadata_admin: { secret: "admin-only" },
      organization_id: null,
      verifiable_addresses: [{ id: newId(), value: email, verified: false, via: "email", status: "pending", created_at: now, updated_at: now }],
      recovery_addresses: [{ id: newId(), value: email, via: "email", created_at: now, updated_at: now }],
      credentials: {
        password: { id: newId(), type: "password", identifiers: [email], config: { hashed_password: "$argon2id$fake" }, version: 0, created_at: now, updated_at: now },
      },
      created_at: now,
      updated_at: now,
    };
    await repo.insert(identity);
    return identity;
  }

  async function login(identity: Identity, ua = "test-agent/1.0") {
    return sessions.issue(identity, { method: "password", ip: "127.0.0.1", user_agent: ua });
  }

  return {
    /** The SQLite file (for a second, read-only connection). */
    file,
    database,
    clock,
    repo,
    sessions,
    config,
    public: pub,
    admin,
    createIdentity,
    login,
    async close() {
      await Promise.allSettled([pub.close(), admin.close()]);
      await database.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type SessionHarness = Awaited<ReturnType<typeof createSessionHarness>>;
