/**
 * Worker-thread entry for the crypt(3) family (crypt-pool.ts starts it). Message in:
 * `{ id, alg: "md5" | "sha256" | "sha512", password: Uint8Array, salt: string, rounds: number }`;
 * message out: `{ id, hash }` with the hash part of the crypt string, or `{ id, error }`.
 */
import { parentPort } from "node:worker_threads";
import { md5Crypt, shaCrypt } from "./crypt.ts";

export interface CryptRequest {
  id: number;
  alg: "md5" | "sha256" | "sha512";
  password: Uint8Array;
  salt: string;
  rounds: number;
}

export type CryptResponse = { id: number; hash: string } | { id: number; error: string };

parentPort?.on("message", (req: CryptRequest) => {
  let res: CryptResponse;
  try {
    const pw = Buffer.from(req.password);
    const hash = req.alg === "md5" ? md5Crypt(pw, req.salt) : shaCrypt(req.alg, pw, req.salt, req.rounds);
    res = { id: req.id, hash };
  } catch (e) {
    res = { id: req.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(res);
});
