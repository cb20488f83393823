import type { Logger } from "pino";

/**
 * Security events: one structured log line each (`security_event` names the event), for SIEMs and audits. Fields are
 * ids and addresses of the request, never a secret: no password, code, token or hash is ever passed here.
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
  | "verification_succeeded"
  | "password_changed"
  | "enumeration_notice_sent"
  | "session_revoked";

export interface SecurityEventFields {
  identity_id?: string;
  client_ip?: string;
  flow_id?: string;
  method?: string;
  reason?: string;
}

export type SecurityEvents = (event: SecurityEventName, fields: SecurityEventFields) => void;

export function createSecurityEvents(logger: Pick<Logger, "info">): SecurityEvents {
  return (event, fields) => logger.info({ security_event: event, ...fields }, `security event: ${event}`);
}
