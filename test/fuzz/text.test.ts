// Fuzz: userPrincipalNames and names in arbitrary Unicode (lone surrogates, controls, NUL): refused whole, or kept as sent.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checked,
  encodeQueryValue,
  fuzzRuns,
  fuzzTimeout,
  hostileText,
  type Seeded,
  seededTenant,
} from "../helpers/fuzz.ts";
import { newGroup } from "../helpers/groups.ts";

let s: Seeded;
let victim: Seeded;
beforeAll(async () => {
  [s, victim] = await Promise.all([seededTenant(), seededTenant()]);
});

/** Entra's username characters, and some it refuses, in a local part of any length around its 64 limit. */
const localPart = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."abcXYZ019'.-_!#^~"), minLength: 1, maxLength: 70 }),
  hostileText(30),
  fc.constantFrom(
    "",
    ".",
    "a.",
    ".a",
    "a..b",
    "#EXT#",
    "a@b",
    "adelev",
    "ADELEV",
    "a/b",
    "a\u0000b",
    "é",
    "\u212Aelvin",
  ),
);

/** The tenant's own domain (as registered, and in other cases), another tenant's, unverified and malformed ones. */
const domain = fc
  .oneof(
    { weight: 4, arbitrary: fc.constant(null).map(() => s.t.domain) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        ...["upper", "dot", "sub", "victim", "unverified", "unicode", "kelvin", "long", "empty"].map((k) => k),
      ),
    },
  )
  .map((d) => {
    switch (d) {
      case "upper":
        return s.t.domain.toUpperCase();
      case "dot":
        return `${s.t.domain}.`;
      case "sub":
        return `sub.${s.t.domain}`;
      case "victim":
        return victim.t.domain;
      case "unverified":
        return "unverified.example";
      case "unicode":
        return s.t.domain.replace("a", "а"); // Cyrillic а
      case "kelvin":
        return s.t.domain.replace(/k/g, "\u212A");
      case "long":
        return `${"d".repeat(60)}.${s.t.domain}`;
      case "empty":
        return "";
      default:
        return d;
    }
  });

const upn = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`) },
  { weight: 1, arbitrary: hostileText(60) },
  { weight: 1, arbitrary: fc.tuple(localPart, domain).map(([l, d]) => ` ${l}@${d} `) },
);

const name = fc.oneof(
  { weight: 3, arbitrary: hostileText(60) },
  { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
);

describe("fuzz: text", { timeout: fuzzTimeout }, () => {
  it("POST /v1.0/users with any userPrincipalName and names: refused with nothing changed, or stored as answered", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        upn,
        name,
        fc.option(name, { nil: undefined }),
        async (userPrincipalName, displayName, jobTitle) => {
          const res = await checked([s.t.id, victim.t.id], {
            key: s.t.keys.UserAdministrator,
            method: "POST",
            path: "/v1.0/users",
            body: {
              accountEnabled: true,
              displayName,
              mailNickname: `text${++n}`,
              userPrincipalName,
              ...(jobTitle === undefined ? {} : { jobTitle }),
            },
          });
          if (res.status !== 201) return;
          // Accepted: what the 201 said is what is stored, and it is what was sent (trimmed).
          const created = res.body;
          expect(created.displayName).toBe(displayName.trim());
          expect(created.userPrincipalName.toLowerCase()).toBe(userPrincipalName.trim().toLowerCase());
          const read = await checked([], {
            key: s.t.keys.GlobalReader,
            method: "GET",
            path: `/v1.0/users/${created.id}?$select=id,displayName,userPrincipalName,jobTitle`,
          });
          expect(read.body).toMatchObject({
            displayName: created.displayName,
            userPrincipalName: created.userPrincipalName,
            jobTitle: created.jobTitle ?? null,
          });
          // The user is found by its UPN, and no other tenant can see it.
          const byUpn = await checked([], {
            key: s.t.keys.GlobalReader,
            method: "GET",
            path: `/v1.0/users/${encodeQueryValue(created.userPrincipalName)}?$select=id`,
          });
          expect(byUpn.body.id).toBe(created.id);
          const elsewhere = await checked([], {
            key: victim.t.keys.GlobalReader,
            method: "GET",
            path: `/v1.0/users/${encodeQueryValue(created.userPrincipalName)}`,
          });
          expect(elsewhere.status).toBe(404);
        },
      ),
      fuzzRuns(50),
    );
  });

  it("PATCH /v1.0/users/{id} with any names: refused with nothing changed, or read back as sent", async () => {
    const fields = fc.constantFrom(
      "displayName",
      "givenName",
      "surname",
      "jobTitle",
      "department",
      "companyName",
      "employeeId",
    );
    await fc.assert(
      fc.asyncProperty(fields, name, async (field, value) => {
        const res = await checked([s.t.id], {
          key: s.t.keys.UserAdministrator,
          method: "PATCH",
          path: `/v1.0/users/${s.users[2]}`,
          body: { [field]: value },
        });
        if (res.status !== 204) return;
        const read = await checked([], {
          key: s.t.keys.GlobalReader,
          method: "GET",
          path: `/v1.0/users/${s.users[2]}?$select=${field}`,
        });
        // Optional fields keep an empty value as empty, or clear it; never something else.
        expect([value.trim(), ...(value.trim() === "" ? [null] : [])]).toContain(read.body[field]);
      }),
      fuzzRuns(30),
    );
  });

  it("groups' names and descriptions: refused with nothing changed, or read back as sent", async () => {
    const group = await newGroup(s.t.admin, { displayName: "Text group" });
    await fc.assert(
      fc.asyncProperty(name, fc.option(name, { nil: null }), async (displayName, description) => {
        const res = await checked([s.t.id], {
          key: s.t.keys.UserAdministrator,
          method: "PATCH",
          path: `/v1.0/groups/${group}`,
          body: { displayName, description },
        });
        if (res.status !== 204) return;
        const read = await checked([], {
          key: s.t.keys.GlobalReader,
          method: "GET",
          path: `/v1.0/groups/${group}?$select=displayName,description`,
        });
        expect(read.body.displayName).toBe(displayName.trim());
        expect(read.body.description).toBe(description);
      }),
      fuzzRuns(25),
    );
  });

  it("users and groups looked up by any text: below 500, and never another tenant's", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileText(80), upn, fc.constantFrom(...victim.ids)),
        fc.constantFrom("users", "groups"),
        async (ref, collection) => {
          const res = await checked([], {
            key: s.t.keys.GlobalReader,
            method: "GET",
            path: `/v1.0/${collection}/${encodeQueryValue(ref)}`,
          });
          if (res.status !== 200) return;
          const owner = await env.DB.prepare(`SELECT tenant_id FROM ${collection} WHERE id = ?1`)
            .bind(res.body.id)
            .first<{ tenant_id: string }>();
          expect(owner?.tenant_id).toBe(s.t.id);
        },
      ),
      fuzzRuns(40),
    );
  });

  it("after all of that, the audit page of both tenants still reads as JSON", async () => {
    for (const t of [s, victim]) {
      const res = await checked([], {
        key: t.t.keys.GlobalReader,
        method: "GET",
        path: "/v1.0/auditLogs/directoryAudits?$top=999",
      });
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body.value)).toBe(true);
    }
  });
});
