/**
 * Persistence of self-service flows (`selfservice_flows`, one table for every kind) and of self-service errors
 * (`selfservice_errors`, what the error UI fetches by id). Only this file reads those tables.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../persistence/db.ts";
import type { DB } from "../persistence/schema.ts";
import { codec } from "../persistence/codec.ts";
import { prepare } from "../persistence/prepared.ts";
import { isWireUi, type Flow, type FlowKind, type FlowType } from "./flow.ts";
import type { UiContainer } from "../ui/node.ts";
import { isUuid, newId } from "../util/ids.ts";

export interface StoredError {
  id: string;
  error: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** The pool, or a caller's transaction (e.g. a verification flow written with the identity it verifies). */
type Q = Kysely<DB> | Transaction<DB>;

/**
 * Flows whose `ui` was never read or assigned since `get` read it or `create`/`update` wrote it: the stored text,
 * written back as it is by `update`. Most submits (a successful login or registration) never look at the UI, so it is
 * neither parsed nor serialized again.
 */
const storedUi = new WeakMap<Flow, string>();
/** Of those, the flows whose text this process wrote from a UI in wire form (`isWireUi`): the text is its wire JSON. */
const wireUi = new WeakSet<Flow>();

/**
 * Makes `flow.ui` an accessor over `text`: the first read or assignment turns it into a plain data property again
 * (the parsed text, or `parsed` when given: the object the text was made from) and forgets the text.
 */
function trackUi(flow: Flow, text: string, parsed?: UiContainer): void {
  const settle = (ui: UiContainer) => {
    storedUi.delete(flow);
    wireUi.delete(flow);
    Object.defineProperty(flow, "ui", { value: ui, writable: true, enumerable: true, configurable: true });
    return ui;
  };
  storedUi.set(flow, text);
  Object.defineProperty(flow, "ui", {
    enumerable: true,
    configurable: true,
    get: () => settle(parsed ?? codec.parseJson<UiContainer>(text)),
    set: (ui: UiContainer) => void settle(ui),
  });
}

/** Makes `flow.ui` parse `raw` on first access (then a plain data property again). */
function lazyUi(flow: Flow, raw: unknown): void {
  const text = typeof raw === "string" ? raw : Buffer.isBuffer(raw) ? raw.toString("utf8") : undefined;
  if (text === undefined) flow.ui = codec.parseJson<UiContainer>(raw);
  else trackUi(flow, text);
}

/** The JSON text of `flow.ui` to write: the stored text while the UI is untouched, else serialized now. */
function uiToWrite(flow: Flow): { text: string; parsed?: UiContainer } {
  const stored = storedUi.get(flow);
  if (stored !== undefined) return { text: stored };
  const parsed = flow.ui;
  return { text: codec.json(parsed), parsed };
}

/** After a write: the flow's UI is the text written until it is read or assigned (see `FlowRepo.uiText`). */
function written(flow: Flow, ui: { text: string; parsed?: UiContainer }): void {
  if (!ui.parsed) return;
  trackUi(flow, ui.text, ui.parsed);
  if (isWireUi(ui.parsed)) wireUi.add(flow);
}

export function createFlowRepo(database: Database) {
  const { db } = database;

  // The statements of every flow submit, built and compiled once (see persistence/prepared.ts).
  const insertFlow = prepare(db, (p) =>
    db.insertInto("selfservice_flows").values({
      id: p("id"),
      kind: p("kind"),
      type: p("type"),
      state: p("state"),
      identity_id: p("identity_id"),
      session_id: p("session_id"),
      csrf_token: p("csrf_token"),
      request_url: p("request_url"),
      return_to: p("return_to"),
      issued_at: p("issued_at"),
      expires_at: p("expires_at"),
      active: p("active"),
      ui: p("ui"),
      internal: p("internal"),
      submit_count: p("submit_count"),
      created_at: p("created_at"),
      updated_at: p("updated_at"),
    }),
  );
  const selectFlow = prepare(db, (p) => db.selectFrom("selfservice_flows").selectAll().where("id", "=", p("id")));
  const updateFlow = prepare(db, (p) =>
    db
      .updateTable("selfservice_flows")
      .set({
        state: p("state"),
        identity_id: p("identity_id"),
        session_id: p("session_id"),
        csrf_token: p("csrf_token"),
        active: p("active"),
        ui: p("ui"),
        internal: p("internal"),
        submit_count: p("submit_count"),
        updated_at: p("updated_at"),
      })
      .where("id", "=", p("id")),
  );

  return {
    /** Stores a new flow, with `q` when it must commit with a caller's other writes. */
    async create(flow: Flow, q: Q = db): Promise<void> {
      const ui = uiToWrite(flow);
      await insertFlow.execute(
        {
          id: flow.id,
          kind: flow.kind,
          type: flow.type,
          state: flow.state,
          identity_id: flow.identity_id ?? null,
          session_id: flow.session_id ?? null,
          csrf_token: flow.csrf_token === "" ? null : flow.csrf_token,
          request_url: flow.request_url,
          return_to: flow.return_to ?? null,
          issued_at: flow.issued_at,
          expires_at: flow.expires_at,
          active: flow.active ?? null,
          ui: ui.text,
          internal: codec.json(flow.internal),
          submit_count: flow.submit_count,
          created_at: flow.created_at,
          updated_at: flow.updated_at,
        },
        q,
      );
      written(flow, ui);
    },

    /** The flow with this id, of any kind; undefined for an unknown or malformed id (never throws for input). */
    async get(id: string): Promise<Flow | undefined> {
      if (!isUuid(id)) return undefined;
      const r = await selectFlow.first({ id: id.toLowerCase() });
      if (!r) return undefined;
      const flow: Flow = {
        id: r.id,
        kind: r.kind as FlowKind,
        type: r.type as FlowType,
        state: r.state ?? "choose_method",
        identity_id: r.identity_id,
        session_id: r.session_id,
        csrf_token: r.csrf_token ?? "",
        request_url: r.request_url,
        issued_at: r.issued_at,
        expires_at: r.expires_at,
        ui: undefined as unknown as UiContainer,
        internal: codec.parseJson<Flow["internal"]>(r.internal) ?? {},
        submit_count: Number(r.submit_count),
        created_at: r.created_at,
        updated_at: r.updated_at,
      };
      if (r.return_to !== null) flow.return_to = r.return_to;
      if (r.active !== null) flow.active = r.active;
      lazyUi(flow, r.ui);
      return flow;
    },

    /** Writes the mutable parts of a flow (ui, state, active, internal, links, counters); with `q` if given. */
    async update(flow: Flow, q: Q = db): Promise<void> {
      const ui = uiToWrite(flow);
      await updateFlow.execute(
        {
          id: flow.id,
          state: flow.state,
          identity_id: flow.identity_id ?? null,
          session_id: flow.session_id ?? null,
          csrf_token: flow.csrf_token === "" ? null : flow.csrf_token,
          active: flow.active ?? null,
          ui: ui.text,
          internal: codec.json(flow.internal),
          submit_count: flow.submit_count,
          updated_at: flow.updated_at,
        },
        q,
      );
      written(flow, ui);
    },

    /**
     * The wire JSON text of `flow.ui` (for `flowJsonText`) when this repository wrote it from a UI in wire form and
     * the UI was not read or assigned since; undefined otherwise. Never reads `flow.ui`.
     */
    uiText(flow: Flow): string | undefined {
      return wireUi.has(flow) ? storedUi.get(flow) : undefined;
    },

    /** Runs `fn` in one transaction (flows written together with other rows, e.g. codes and outbox messages). */
    transaction<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
      return db.transaction().execute(fn);
    },

    /**
     * Binds a flow created without a browser (admin recovery) to the masked CSRF token of the first browser that
     * opens it: one conditional update, so of concurrent openers exactly one wins (true); false when already bound.
     */
    async bindCsrf(id: string, csrfToken: string): Promise<boolean> {
      const res = await db.updateTable("selfservice_flows").set({ csrf_token: csrfToken }).where("id", "=", id).where("csrf_token", "is", null).executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /**
     * Takes one of the flow's `max` code submissions (`code_submissions`, a column `update` never writes): a single
     * conditional increment, so concurrent submits each count and at most `max` ever get true.
     */
    async takeCodeSubmission(id: string, max: number): Promise<boolean> {
      const res = await db
        .updateTable("selfservice_flows")
        .set((eb) => ({ code_submissions: eb("code_submissions", "+", 1) }))
        .where("id", "=", id)
        .where("code_submissions", "<", max)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },

    /** How many codes were submitted on the flow (0 for an unknown flow). */
    async codeSubmissions(id: string): Promise<number> {
      const r = await db.selectFrom("selfservice_flows").select("code_submissions").where("id", "=", id).executeTakeFirst();
      return Number(r?.code_submissions ?? 0);
    },

    async createError(error: Record<string, unknown>, now: Date): Promise<string> {
      const id = newId();
      await db.insertInto("selfservice_errors").values({ id, error: codec.json(error), created_at: now.toISOString() }).execute();
      return id;
    },

    async getError(id: string): Promise<StoredError | undefined> {
      if (!isUuid(id)) return undefined;
      const r = await db.selectFrom("selfservice_errors").selectAll().where("id", "=", id.toLowerCase()).executeTakeFirst();
      if (!r) return undefined;
      return { id: r.id, error: codec.parseJson<Record<string, unknown>>(r.error), created_at: r.created_at, updated_at: r.created_at };
    },
  };
}

export type FlowRepo = ReturnType<typeof createFlowRepo>;
