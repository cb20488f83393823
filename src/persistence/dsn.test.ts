import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDsn, parseDsn, redactDsn } from "./dsn.ts";

describe("parseDsn: sqlite", () => {
  test("memory and its spellings", () => {
    for (const dsn of ["memory", "sqlite://:memory:", "sqlite://file::memory:?_fk=true", "sqlite://x.db?mode=memory"]) {
      const p = parseDsn(dsn);
      assert.equal(p.dialect, "sqlite", dsn);
      assert.equal(p.filename, ":memory:", dsn);
    }
    assert.deepEqual(parseDsn("sqlite://file::memory:?_fk=true").params, { _fk: "true" });
  });

  test("absolute path", () => {
    assert.deepEqual(parseDsn("sqlite:///var/lib/tessera/db.sqlite"), {
      dialect: "sqlite",
      filename: "/var/lib/tessera/db.sqlite",
      params: {},
    });
  });

  test("relative paths resolve against cwd", () => {
    assert.equal(parseDsn("sqlite://./rel.db", { cwd: "/srv/app" }).filename, "/srv/app/rel.db");
    assert.equal(parseDsn("sqlite://data/kratos.db", { cwd: "/srv/app" }).filename, "/srv/app/data/kratos.db");
    assert.equal(parseDsn("sqlite://../up.db", { cwd: "/srv/app" }).filename, "/srv/up.db");
  });

  test("Kratos query parameters are kept and do not leak into the path", () => {
    const p = parseDsn("sqlite:///var/lib/sqlite/db.sqlite?_fk=true&mode=rwc");
    assert.equal(p.filename, "/var/lib/sqlite/db.sqlite");
    assert.deepEqual(p.params, { _fk: "true", mode: "rwc" });
    assert.equal(parseDsn("sqlite://./db.sqlite?_fk=true", { cwd: "/a" }).filename, "/a/db.sqlite");
  });

  test("file: prefix and percent-encoded paths", () => {
    assert.equal(parseDsn("sqlite://file:/tmp/x.db").filename, "/tmp/x.db");
    assert.equal(parseDsn("sqlite:///tmp/with%20space.db").filename, "/tmp/with space.db");
  });

  test("empty path is an error", () => {
    assert.throws(() => parseDsn("sqlite://"), /names no file/);
    assert.throws(() => parseDsn("sqlite://?_fk=true"), /names no file/);
  });
});

describe("parseDsn: postgres", () => {
  test("full URL with both scheme spellings", () => {
    for (const scheme of ["postgres", "postgresql"]) {
      assert.deepEqual(parseDsn(`${scheme}://kratos:secret@db.example.com:6543/kratos?sslmode=disable&max_conns=20`), {
        dialect: "postgres",
        host: "db.example.com",
        port: 6543,
        user: "kratos",
        password: "secret",
        database: "kratos",
        params: { sslmode: "disable", max_conns: "20" },
      });
    }
  });

  test("defaults: port 5432, no credentials, no database", () => {
    const p = parseDsn("postgres://127.0.0.1");
    assert.equal(p.port, 5432);
    assert.equal(p.user, undefined);
    assert.equal(p.password, undefined);
    assert.equal(p.database, undefined);
    assert.equal(parseDsn("postgres://postgres@127.0.0.1/postgres").user, "postgres");
  });

  test("percent-encoded special characters in user and password", () => {
    const p = parseDsn("postgres://us%40er:p%40ss%3Aw%2Frd%3F%23%25@host:5432/db");
    assert.equal(p.user, "us@er");
    assert.equal(p.password, "p@ss:w/rd?#%");
    assert.equal(p.host, "host");
    assert.equal(p.database, "db");
  });

  test("raw special characters in the password are tolerated", () => {
    const p = parseDsn("postgres://u:p@ss:w?rd!$&*()@host:5432/db?sslmode=disable");
    assert.equal(p.user, "u");
    assert.equal(p.password, "p@ss:w?rd!$&*()");
    assert.equal(p.host, "host");
    assert.equal(p.database, "db");
    assert.deepEqual(p.params, { sslmode: "disable" });
    // An invalid percent sequence is kept verbatim rather than failing.
    assert.equal(parseDsn("postgres://u:100%zz@h/db").password, "100%zz");
  });

  test("an '@' in the query string stays out of the userinfo", () => {
    const p = parseDsn("postgres://u:pw@h:5432/db?application_name=me@example");
    assert.equal(p.password, "pw");
    assert.equal(p.params.application_name, "me@example");
  });

  test("IPv6 host", () => {
    const p = parseDsn("postgres://u@[::1]:5433/db");
    assert.equal(p.host, "::1");
    assert.equal(p.port, 5433);
  });

  test("bad port and tcp() form are rejected", () => {
    assert.throws(() => parseDsn("postgres://h:99999/db"), /invalid port/);
    assert.throws(() => parseDsn("postgres://u@tcp(h:5432)/db"), /only accepted in mysql/);
  });
});

describe("parseDsn: mysql", () => {
  test("URL form", () => {
    assert.deepEqual(parseDsn("mysql://user:pass@host:3306/db"), {
      dialect: "mysql",
      host: "host",
      port: 3306,
      user: "user",
      password: "pass",
      database: "db",
      params: {},
    });
    assert.equal(parseDsn("mysql://root@127.0.0.1/test").port, 3306);
  });

  test("Kratos's Go driver form with tcp() and parameters", () => {
    const p = parseDsn("mysql://root:secret@tcp(mysqld:3306)/mysql?max_conns=20&max_idle_conns=4&parseTime=true&multiStatements=true");
    assert.equal(p.dialect, "mysql");
    assert.equal(p.host, "mysqld");
    assert.equal(p.port, 3306);
    assert.equal(p.user, "root");
    assert.equal(p.password, "secret");
    assert.equal(p.database, "mysql");
    assert.deepEqual(p.params, { max_conns: "20", max_idle_conns: "4", parseTime: "true", multiStatements: "true" });
  });

  test("Go form with special characters in the password and default port", () => {
    const p = parseDsn("mysql://app:s3cr@t:/(x)@tcp(10.0.0.5)/kratos?parseTime=true");
    assert.equal(p.password, "s3cr@t:/(x)");
    assert.equal(p.host, "10.0.0.5");
    assert.equal(p.port, 3306);
    assert.equal(p.database, "kratos");
  });

  test("unix socket form", () => {
    const p = parseDsn("mysql://root@unix(/run/mysqld/mysqld.sock)/kratos");
    assert.equal(p.socket, "/run/mysqld/mysqld.sock");
    assert.equal(p.host, undefined);
    assert.equal(p.database, "kratos");
  });
});

describe("parseDsn: errors never reveal the password", () => {
  const secret = "Sup3rS3cret";
  for (const dsn of [
    `cockroach://u:${secret}@h/db`,
    `postgres://u:${secret}@h:notaport/db`,
    `mysql://u:${secret}@tcp(h:0)/db`,
    `postgres://u:${secret}@h:5432/a/b`,
    `mysql://u:${secret}@h$/db`,
    `u:${secret}@h/db`,
    "",
  ]) {
    test(JSON.stringify(dsn.replace(secret, "***")), () => {
      assert.throws(
        () => parseDsn(dsn),
        (e: unknown) => e instanceof Error && !e.message.includes(secret) && e.message.length > 10,
      );
    });
  }
});

test("formatDsn round-trips through parseDsn", () => {
  for (const dsn of [
    "postgres://us%40er:p%40ss%2Fw@h:5432/db?sslmode=disable",
    "mysql://root@127.0.0.1:3306/test",
    "mysql://app:pw@tcp(db:3307)/kratos?parseTime=true",
    "sqlite:///tmp/a.db?_fk=true",
    "memory",
  ]) {
    const p = parseDsn(dsn);
    assert.deepEqual(parseDsn(formatDsn(p)), p, dsn);
  }
});

test("redactDsn hides passwords, also in unparseable DSNs", () => {
  assert.equal(redactDsn("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
  assert.equal(redactDsn("mysql://u:secret@tcp(h:3306)/db"), "mysql://u:***@h:3306/db");
  assert.equal(redactDsn("sqlite:///x.db"), "sqlite:///x.db");
  assert.ok(!redactDsn("weird://u:secret@h/db").includes("secret"));
});
