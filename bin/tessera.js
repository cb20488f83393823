#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so no build step is needed before `npm start` or `npx tessera`.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
