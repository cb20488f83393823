import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import formbody from "@fastify/formbody";
import { createHash, timingSafeEqual } from "node:crypto";
import { parse as parseQuery } from "node:querystring";
import type { Logger } from "pino";
import { errors } from "../util/app-error.ts";
import { sendError } from "./error-handler.ts";
import { lazyChildLogger } from "./request-logger.ts";

/**
 * Builds one Fastify instance with everything both listeners share: body limit, form and JSON parsing, Kratos-shaped
 * errors and 404s, `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every response, and request
 * logs that never contain secrets (query values and credential headers are not logged).
 */
export interface HttpInstanceOptions {
  logger: Logger;
  bodyLimit: number;
  /** `trustProxy` for Fastify: false, or a list of CIDRs whose X-Forwarded-For is believed. */
  trustProxy?: boolean | string[];
}

const SECRET_QUERY = /([?&](?:token|code|flow|page_token|return_to)=)[^&]*/gi;
export const redactUrl = (url: string): string => url.replace(SECRET_QUERY, "$1[redacted]");

export function createHttpInstance(opts: HttpInstanceOptions): FastifyInstance {
  const options: FastifyServerOptions = {
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    trustProxy: opts.trustProxy ?? false,
    // Our own onResponse line replaces Fastify's request logs, which would print full URLs (tokens in queries).
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made on every request; a lazy child builds pino's child only when a line is written.
    childLoggerFactory: lazyChildLogger,
    return503OnClosing: true,
    // node:querystring keeps repeated keys as arrays, as Kratos's list endpoints expect (`ids=a&ids=b`).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500, querystringParser: (str: string) => parseQuery(str) },
  };
  const app = Fastify(options) as unknown as FastifyInstance;
  void app.register(formbody, { bodyLimit: opts.bodyLimit });
  // Only JSON and form bodies are accepted; anything else is a 415 rather than a string handed to a handler.
  app.removeContentTypeParser("text/plain");

  // Callback-style hooks: no promise per request on every route (whoami is the hot path).
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "private, no-cache, no-store, must-revalidate");
    reply.header("x-content-type-options", "nosniff");
    done(null, payload);
  });
  app.addHook("onResponse", (request, reply, done) => {
    // Request logs are at info: skip building the line (a regular expression over the URL) when it is not written.
    if ((request.log as unknown as Logger).isLevelEnabled("info")) {
      request.log.info(
        { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        "request completed",
      );
    }
    done();
  });
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, errors.notFound()));
  return app;
}

/**
 * Admin API keys (our extension): when keys are configured every admin request needs `Authorization: Bearer <key>`,
 * compared in constant time over SHA-256 digests so neither length nor content leaks. Health probes stay open.
 */
export function requireApiKey(app: FastifyInstance, keys: readonly string[]): void {
  if (keys.length === 0) return;
  const digests = keys.map((k) => createHash("sha256").update(k).digest());
  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?")[0];
    if (/^(\/admin)?\/health\/(alive|ready)$/.test(path)) return;
    const header = request.headers.authorization ?? "";
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const given = createHash("sha256").update(m ? m[1].trim() : "").digest();
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    if (!ok || !m) {
      reply.header("www-authenticate", 'Bearer realm="tessera-admin"');
      return sendError(request, reply, errors.unauthorized("A valid admin API key is required: send it as Authorization: Bearer <key>."));
    }
  });
}
