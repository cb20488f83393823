import assert from "node:assert/strict";
import { test } from "node:test";
import { compileTemplate, TemplateError } from "./go-template.ts";

const render = (src: string, data: unknown, escape: "none" | "html" | "json" = "none") => compileTemplate(src).render(data, escape);

test("fields, nested fields and Go-style names find snake_case keys", () => {
  assert.equal(render("Code: {{ .RecoveryCode }} for {{ .To }}", { recovery_code: "123456", to: "a@b.c" }), "Code: 123456 for a@b.c");
  assert.equal(render("{{ .Identity.traits.email }}", { identity: { traits: { email: "x@y.z" } } }), "x@y.z");
  assert.equal(render("{{ .VerificationURL }}", { verification_url: "https://h/v" }), "https://h/v");
  assert.equal(render("[{{ .missing }}][{{ .a.b.c }}]", { a: 1 }), "[][]");
  assert.equal(render("{{ . }}", "root"), "root");
});

test("index with literal keys", () => {
  assert.equal(render('{{ index .Identity.traits "e-mail" }}', { Identity: { traits: { "e-mail": "q@r.s" } } }), "q@r.s");
  assert.equal(render("{{ index .list 1 }}", { list: ["a", "b"] }), "b");
});

test("if / else if / else / end with Go truthiness", () => {
  const t = compileTemplate("{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}");
  assert.equal(t.render({ a: "x" }, "none"), "A");
  assert.equal(t.render({ a: "", b: [1] }, "none"), "B");
  assert.equal(t.render({ a: 0, b: [] }, "none"), "C");
  assert.equal(render("{{ if .o }}yes{{ end }}", { o: {} }), "");
});

test("trim markers and comments", () => {
  assert.equal(render("a  {{- .x -}}  b{{/* note */}}", { x: "X" }), "aXb");
});

test("escaping is chosen by the caller: html and json", () => {
  assert.equal(render("<p>{{ .n }}</p>", { n: `<script>"&'` }, "html"), "<p>&lt;script&gt;&#34;&amp;&#39;</p>");
  assert.equal(render('{"n":"{{ .n }}"}', { n: 'a"b\\c\n' }, "json"), '{"n":"a\\"b\\\\c\\n"}');
  assert.deepEqual(JSON.parse(render('{"n":"{{ .n }}"}', { n: 'q"}, "evil": {"' }, "json")), { n: 'q"}, "evil": {"' });
});

test("unsupported constructs fail at compile time", () => {
  for (const src of ["{{ range .x }}{{ end }}", "{{ .x | upper }}", "{{ printf \"%s\" .x }}", "{{ if .x }}", "{{ end }}", "{{ .x ", "{{ $v := .x }}"]) {
    assert.throws(() => compileTemplate(src), TemplateError, src);
  }
});
