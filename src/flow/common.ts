/**
 * Small pieces the login and registration handlers share: reading the current session without failing, the
 * `return_to` check against `selfservice.allowed_return_urls`, where a browser goes after success, and the
 * client facts a session records.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import type { SessionsPort } from "./deps.ts";
import { returnToForbidden } from "./errors.ts";
import type { Flow } from "./flow.ts";
import { checkReturnTo } from "./return-to.ts";

/** The request's active session, or undefined. A broken or expired credential is simply "no session" here. */
export async function currentSession(sessions: SessionsPort, req: FastifyRequest): Promise<unknown> {
  try {
    return (await sessions.fromRequest(req)) || undefined;
  } catch {
    return undefined;
  }
}

/** The checked absolute `return_to`, undefined when none was given; throws 400 `self_service_flow_return_to_forbidden`. */
export function resolveReturnTo(config: Config, value: string | undefined): string | undefined {
  return checkReturnTo(
    value,
    { allowed: config.selfservice.allowed_return_urls, defaultReturnUrl: config.selfservice.default_browser_return_url },
    returnToForbidden,
  );
}

/** Where a browser goes after a successful flow: its `return_to`, the method's or flow's default, the global one. */
export function afterUrl(config: Config, flow: Flow, method: string): string {
  if (flow.return_to) return flow.return_to;
  const after = (config.selfservice.flows[flow.kind] as { after?: Record<string, unknown> }).after ?? {};
  const perMethod = after[method] as { default_browser_return_url?: string } | undefined;
  return perMethod?.default_browser_return_url ?? (after.default_browser_return_url as string | undefined) ?? config.selfservice.default_browser_return_url;
}

export function clientInfo(req: FastifyRequest): { ip: string; user_agent: string } {
  return { ip: req.ip, user_agent: String(req.headers["user-agent"] ?? "") };
}

/** Runs `task` once the response has been written (never on the response path); failures are only logged. */
export function afterResponse(req: FastifyRequest, reply: FastifyReply, task: () => Promise<void>): void {
  reply.raw.once("finish", () => {
    task().catch((err: unknown) => req.log.warn({ err }, "post-response task failed"));
  });
}

/** Kratos's `continue_with` entry telling a browser where to go. */
export const redirectBrowserTo = (url: string) => ({ action: "redirect_browser_to", redirect_browser_to: url });
