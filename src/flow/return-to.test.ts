import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkReturnTo, matchesAllowed } from "./return-to.ts";

const forbidden = (v: string) => new Error(`forbidden ${v}`);
const opts = { allowed: ["https://app.example.com/dash", "http://127.0.0.1:4455", "exp://localhost:8081/--/Callback"], defaultReturnUrl: "https://app.example.com/welcome" };

describe("return_to matching", () => {
  it("matches scheme and host exactly and the path by whole segments", () => {
    assert.equal(matchesAllowed(new URL("https://app.example.com/dash"), "https://app.example.com/dash"), true);
    assert.equal(matchesAllowed(new URL("https://app.example.com/dash/x?y=1"), "https://app.example.com/dash"), true);
    assert.equal(matchesAllowed(new URL("https://app.example.com/dashboard-evil"), "https://app.example.com/dash"), false);
    assert.equal(matchesAllowed(new URL("http://app.example.com/dash"), "https://app.example.com/dash"), false);
    assert.equal(matchesAllowed(new URL("https://app.example.com:444/dash"), "https://app.example.com/dash"), false);
    assert.equal(matchesAllowed(new URL("https://app.example.com.evil.net/dash"), "https://app.example.com/dash"), false);
    assert.equal(matchesAllowed(new URL("https://app.example.com/dash/../admin"), "https://app.example.com/dash"), false);
  });

  it("resolves relative paths against the default return URL and refuses tricks", () => {
    assert.equal(checkReturnTo(undefined, opts, forbidden), undefined);
    assert.equal(checkReturnTo("", opts, forbidden), undefined);
    assert.equal(checkReturnTo("/next", opts, forbidden), "https://app.example.com/next");
    assert.equal(checkReturnTo("http://127.0.0.1:4455/anything", opts, forbidden), "http://127.0.0.1:4455/anything");
    assert.equal(checkReturnTo("exp://localhost:8081/--/Callback", opts, forbidden), "exp://localhost:8081/--/Callback");
    for (const bad of ["//evil.net", "/\\evil.net", "javascript:alert(1)", "https://user:pw@app.example.com/dash", "https://app.example.com/dashboard-evil", "data:text/html,x", "not a url"]) {
      assert.throws(() => checkReturnTo(bad, opts, forbidden), /forbidden/, bad);
    }
  });
});
