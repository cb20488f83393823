/** The dependencies every code / link flow strategy shares (one object, built once by `createCodeMethods`). */
import type { CodeFlowsDeps } from "./code-flows.ts";

export const createCodeFlowsDeps = (d: CodeFlowsDeps): CodeFlowsDeps => d;
