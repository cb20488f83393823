/**
 * The baseline every bench compares against: a bare Fastify instance (default options, no logger, no hooks) whose GET
 * routes answer fixed values. An object value is serialized on every request, as the real route does, so the ratio
 * real/bare is the cost of everything that is not HTTP parsing and JSON serialization (routing through our hooks,
 * database, hydration).
 */
import Fastify from "fastify";

export interface BareServer {
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port; `routes` maps a path (e.g. `/identity`) to the value it answers. */
export async function startBareServer(routes: Record<string, unknown>): Promise<BareServer> {
  const app = Fastify();
  for (const [path, value] of Object.entries(routes)) app.get(path, async () => value);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { url, close: () => app.close() };
}
