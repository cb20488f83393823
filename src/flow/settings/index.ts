/**
 * The settings flow: routes, the flow factory the recovery flow calls after a successful recovery, and the ports
 * (courier, address verifier) the composition root may wire.
 */
export { registerSettingsRoutes, isSettingsSessions } from "./handler.ts";
export type { CreateSettingsFlow, CreateSettingsFlowOptions, SettingsHandlerDeps, SettingsSessionsPort } from "./handler.ts";
export { verifierFromHooks } from "./hooks.ts";
export type { AddressVerifier, CourierPort } from "./hooks.ts";
export { settingsFlowToJson } from "./respond.ts";
