/**
 * What the flows need from the rest of the app. `SessionsPort` is the slice of the session service
 * (`session/session-service.ts`) the flows use, declared here so flows compile against the described interface.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Identity } from "../identity/identity.ts";
import type { SessionRecord } from "../session/session.ts";
import type { Clock } from "../util/clock.ts";
import type { Csrf } from "./csrf.ts";
import type { FlowRepo } from "./flow-repo.ts";

export interface SessionsPort {
  /** Creates a session for an identity that just authenticated; `token` is the secret (`ory_st_...`). */
  issue(identity: Identity, opts: { method: string; ip: string; user_agent: string; previous?: SessionRecord }): Promise<{ session: unknown; token: string }>;
  /** The active session the request carries (X-Session-Token, cookie, Bearer), or a falsy value. */
  fromRequest(req: FastifyRequest): Promise<unknown>;
  /** The wire JSON of a session (with its identity). */
  toJson(session: unknown, identity: Identity): unknown;
  /** Sets the session cookie on a browser response. */
  setCookie(reply: FastifyReply, token: string, session: unknown): void;
}

export interface FlowDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  publicBaseUrl: string;
  flows: FlowRepo;
  csrf: Csrf;
  sessions: SessionsPort;
}
