/**
 * CORS on the public API for single-page apps on other origins (`serve.public.cors.*`, Kratos's keys and defaults;
 * off unless `enabled`). The request's exact origin is echoed (never `*` together with credentials), `Vary: Origin`
 * is set, and because the headers are added in `onRequest` they are on error responses and 404s too.
 * `allowed_origins` entries may hold one `*` wildcard (`https://*.example.com`), as Kratos allows.
 */
import type { FastifyInstance } from "fastify";
import cors from "@fastify/cors";
import type { Config } from "../config/config.ts";

function originMatcher(allowed: readonly string[]): (origin: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  let any = false;
  for (const a of allowed) {
    if (a === "*") any = true;
    else if (a.includes("*")) {
      const [pre, post] = a.toLowerCase().split("*", 2);
      const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      patterns.push(new RegExp(`^${esc(pre)}[^/]+${esc(post ?? "")}$`));
    } else exact.add(a.toLowerCase().replace(/\/$/, ""));
  }
  return (origin) => {
    const o = origin.toLowerCase();
    return any || exact.has(o) || patterns.some((p) => p.test(o));
  };
}

/** Registers CORS on the public instance when `serve.public.cors.enabled`; a no-op otherwise. Await it before `ready`. */
export async function registerCors(pub: FastifyInstance, config: Config): Promise<void> {
  const c = config.serve.public.cors;
  if (!c?.enabled) return;
  const allowed = originMatcher(c.allowed_origins ?? ["*"]);
  await pub.register(cors, {
    hook: "onRequest",
    origin: (origin, cb) => cb(null, origin !== undefined && allowed(origin)),
    methods: c.allowed_methods,
    allowedHeaders: c.allowed_headers,
    exposedHeaders: c.exposed_headers,
    credentials: c.allow_credentials,
    maxAge: c.max_age || undefined,
    strictPreflight: false,
  });
}
