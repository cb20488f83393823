/**
 * Shared set-up for the recovery / verification / code tests: the real test app with recovery and verification on,
 * a real SMTP sink, and a courier on the same database whose `drainOnce` delivers the outbox to the sink.
 */
import assert from "node:assert/strict";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { createCourier } from "../../src/courier/courier.ts";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.ts";
import { deepMerge } from "../helpers/create-test-app.ts";
import { createFlowsHarness, json, type FlowsHarness, type Json } from "./harness.ts";

export interface MailHarness extends FlowsHarness {
  sink: SmtpSink;
  /** Delivers queued messages and returns the next mail to `to` (plain text). */
  mail(to: string): Promise<string>;
  close(): Promise<void>;
}

export async function createMailHarness(config: Record<string, unknown> = {}): Promise<MailHarness> {
  const sink = await startSmtpSink();
  const h = await createFlowsHarness(
    deepMerge(
      {
        courier: { smtp: { connection_uri: sink.uri, from_address: "no-reply@tessera.test" } },
        selfservice: {
          methods: { link: { enabled: true } },
          flows: {
            recovery: { enabled: true, after: { hooks: [{ hook: "revoke_active_sessions" }] } },
            verification: { enabled: true },
          },
        },
      },
      config,
    ),
  );
  const d = h.t.app.deps;
  const courier = createCourier({ database: d.database, config: d.config, clock: d.clock, logger: d.logger, publicBaseUrl: d.publicBaseUrl });
  return {
    ...h,
    sink,
    async mail(to) {
      await courier.drainOnce();
      const m = await sink.waitFor(to, { timeoutMs: 5000 });
      return m.text ?? "";
    },
    async close() {
      courier.close();
      await h.close();
      await sink.stop();
    },
  };
}

export async function initFlow(pub: FastifyInstance, kind: "recovery" | "verification", type: "api" | "browser", headers: Record<string, string> = {}): Promise<{ flow: Json; res: LightMyRequestResponse }> {
  const res = await pub.inject({ method: "GET", url: `/self-service/${kind}/${type}`, headers: { accept: "application/json", ...headers } });
  assert.equal(res.statusCode, 200, res.body);
  return { flow: json(res), res };
}

export async function post(pub: FastifyInstance, kind: string, flowId: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return pub.inject({
    method: "POST",
    url: `/self-service/${kind}?flow=${flowId}`,
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const digitsIn = (text: string, n: number): string => {
  const m = new RegExp(`\\b(\\d{${n}})\\b`).exec(text);
  assert.ok(m, `no ${n}-digit code in: ${text}`);
  return m[1];
};

export const messagesOf = (flow: Json): number[] => ((flow.ui?.messages ?? []) as Json[]).map((m) => m.id as number);
