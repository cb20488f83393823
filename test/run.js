#!/usr/bin/env node
// Collects every *.test.ts under src/ and test/ and runs them with Node's test runner through tsx.
// Node 20's --test takes no globs, so the file list is built here.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const roots = ["src", "test"];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".test.ts")) files.push(path);
  }
};
for (const root of roots) walk(root);
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((p) => f.includes(p))) : files;
selected.sort();

for (const [name, label] of [["TEST_POSTGRES_DSN", "PostgreSQL"], ["TEST_MYSQL_DSN", "MariaDB/MySQL"], ["TEST_REDIS_URL", "Redis"]]) {
  if (!process.env[name]) console.log(`# ${label} suites skipped: ${name} is not set`);
}

const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...selected],
  { stdio: "inherit", env: { ...process.env, NODE_ENV: "test" } },
);
process.exit(result.status ?? 1);
