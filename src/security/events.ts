import type { Logger } from "pino";

/**
 * Security events: one structured log line each (`security_event` names the event), for SIEMs and audits. Fields are
 * ids and addresses of the request, never a secret: no password, code, token or hash is ever passed here.
 * `test/security/events.test.ts` reads them from a captured log. Where some are written:
 * - `identifier_locked`: `throttle/lockout-notice.ts`, once per lockout episode (identity id when an account has the
 *   identifier or address, client IP; method `code` and the code kind as reason for code-guess lockouts);
 * - `session_revoked`: `flow/settings/hooks.ts`, when `revoke_active_sessions` revoked other sessions (not yet written
 *   by logout, the admin session API or recovery).
 */
export type SecurityEventName =
  | "login_succeeded"
  | "login_failed"
  | "login_throttled"
  | "identifier_locked"
  | "registration_succeeded"
  | "registration_duplicate"
  | "recovery_requested"
  | "recovery_succeeded"
  | "verification_requested"
  | "verification_succeeded"
  | "code_failed"
  | "code_throttled"
  | "message_capped"
  | "password_changed"
  | "enumeration_notice_sent"
  | "session_revoked";

export interface SecurityEventFields {
  identity_id?: string;
  client_ip?: string;
  flow_id?: string;
  method?: string;
  /** Why, in a word: the template of a notice (`registration_attempt`), the flow kind of a code (`recovery`). */
  reason?: string;
}

export type SecurityEvents = (event: SecurityEventName, fields: SecurityEventFields) => void;

/**
 * Events on `logger`, one `info` line each: `{security_event, identity_id?, client_ip?, flow_id?, method?, reason?}`.
 * Only the listed fields are written, so a caller cannot leak a secret by passing a wider object.
 */
export function createSecurityEvents(logger: Pick<Logger, "info">): SecurityEvents {
  return (event, fields) => {
    const { identity_id, client_ip, flow_id, method, reason } = fields;
    logger.info({ security_event: event, identity_id, client_ip, flow_id, method, reason }, `security event: ${event}`);
  };
}
