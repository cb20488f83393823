import { test } from "node:test";
import assert from "node:assert/strict";
import { applyJsonPatch, JsonPatchError } from "./json-patch.ts";

test("RFC 6902 appendix examples", () => {
  assert.deepEqual(applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz", value: "qux" }]), { foo: "bar", baz: "qux" });
  assert.deepEqual(applyJsonPatch({ foo: ["bar", "baz"] }, [{ op: "add", path: "/foo/1", value: "qux" }]), { foo: ["bar", "qux", "baz"] });
  assert.deepEqual(applyJsonPatch({ foo: ["bar"] }, [{ op: "add", path: "/foo/-", value: "x" }]), { foo: ["bar", "x"] });
  assert.deepEqual(applyJsonPatch({ baz: "qux", foo: "bar" }, [{ op: "remove", path: "/baz" }]), { foo: "bar" });
  assert.deepEqual(applyJsonPatch({ baz: "qux" }, [{ op: "replace", path: "/baz", value: "boo" }]), { baz: "boo" });
  assert.deepEqual(
    applyJsonPatch({ foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } }, [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }]),
    { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
  );
  assert.deepEqual(applyJsonPatch({ a: { b: 1 } }, [{ op: "copy", from: "/a", path: "/c" }]), { a: { b: 1 }, c: { b: 1 } });
  assert.deepEqual(applyJsonPatch({ "a/b": 1, "m~n": 2 }, [{ op: "replace", path: "/a~1b", value: 3 }, { op: "remove", path: "/m~0n" }]), { "a/b": 3 });
});

test("errors and atomicity", () => {
  const doc = { a: 1 };
  assert.throws(() => applyJsonPatch(doc, [{ op: "add", path: "/b", value: 2 }, { op: "remove", path: "/nope" }]), JsonPatchError);
  assert.deepEqual(doc, { a: 1 }, "input is never mutated");
  assert.throws(() => applyJsonPatch(doc, [{ op: "test", path: "/a", value: 2 }]), /test failed/);
  assert.throws(() => applyJsonPatch(doc, [{ op: "frobnicate", path: "/a" }]), /unknown op/);
  assert.throws(() => applyJsonPatch(doc, [{ op: "replace", path: "a", value: 1 }]), /must start with/);
  assert.throws(() => applyJsonPatch(doc, { op: "add" }), /array/);
  assert.throws(() => applyJsonPatch({ l: [1] }, [{ op: "add", path: "/l/5", value: 1 }]), /out of bounds/);
  assert.throws(() => applyJsonPatch(doc, [{ op: "add", path: "/x" }]), /"value" is required/);
});
