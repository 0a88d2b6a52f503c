import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkUserPrincipalName,
  INVALID_UPN,
  MAX_UPN_DOMAIN_LENGTH,
  MAX_UPN_LENGTH,
  MAX_UPN_LOCAL_LENGTH,
  UPN_DOMAIN_NOT_VERIFIED,
  type UpnRefusalReason,
} from "../../functions/directory/upn.ts";

const domains = ["contoso.com", "Fabrikam.co.uk", "contoso.onmicrosoft.com"];
const check = (upn: string) => checkUserPrincipalName(upn, domains);
const reasonOf = (upn: string) => {
  const r = check(upn);
  return r.ok ? "ok" : r.reason;
};

describe("checkUserPrincipalName", () => {
  it.each([
    "adele@contoso.com",
    "Adele.Vance@CONTOSO.COM",
    "o'brien@fabrikam.co.uk",
    "a-b_c!d#e^f~g.h@contoso.com",
    "adele_fabrikam.com#EXT#@contoso.onmicrosoft.com",
    "0@contoso.com",
    ".leading@contoso.com",
    "double..period@contoso.com",
  ])("accepts %s", (upn) => {
    expect(check(upn)).toMatchObject({ ok: true });
  });

  it("returns the parts, with the domain spelled as the tenant verified it", () => {
    expect(check("Adele@fabrikam.CO.UK")).toEqual({ ok: true, localPart: "Adele", domain: "Fabrikam.co.uk" });
  });

  it.each<[string, UpnRefusalReason, number]>([
    ["", "empty", 0],
    ["adele", "missingAt", 5],
    ["adele@contoso.com@contoso.com", "extraAt", 17],
    ["@contoso.com", "emptyLocalPart", 0],
    ["adele@", "emptyDomain", 6],
    ["adele.@contoso.com", "periodBeforeAt", 5],
    ["ad/ele@contoso.com", "invalidCharacter", 2],
    ["ad\u0000ele@contoso.com", "invalidCharacter", 2],
    ["ad ele@contoso.com", "invalidCharacter", 2],
    ["adèle@contoso.com", "invalidCharacter", 2],
    ["a+tag@contoso.com", "invalidCharacter", 1],
    ["a\ud800@contoso.com", "invalidCharacter", 1],
    ['"adele"@contoso.com', "invalidCharacter", 0],
    ...[...'\\%&*+/=?{}|<>();:,[]"` $'].map((c): [string, UpnRefusalReason, number] => [
      `x${c}@contoso.com`,
      "invalidCharacter",
      1,
    ]),
  ])("refuses %j as %s at %i", (upn, reason, index) => {
    const r = check(upn);
    expect(r).toEqual({ ok: false, reason, index, message: INVALID_UPN });
    expect(INVALID_UPN).toBe("Property userPrincipalName is invalid.");
  });

  it("enforces 64 before the @, 48 after, 113 in all", () => {
    expect(reasonOf(`${"a".repeat(MAX_UPN_LOCAL_LENGTH)}@contoso.com`)).toBe("ok");
    expect(reasonOf(`${"a".repeat(MAX_UPN_LOCAL_LENGTH + 1)}@contoso.com`)).toBe("localPartTooLong");
    const longDomain = `${"d".repeat(MAX_UPN_DOMAIN_LENGTH - 4)}.com`;
    expect(checkUserPrincipalName(`a@${longDomain}`, [longDomain]).ok).toBe(true);
    expect(checkUserPrincipalName(`a@x${longDomain}`, [`x${longDomain}`])).toMatchObject({ reason: "domainTooLong" });
    const longest = `${"a".repeat(64)}@${longDomain}`;
    expect(longest).toHaveLength(MAX_UPN_LENGTH);
    expect(checkUserPrincipalName(longest, [longDomain]).ok).toBe(true);
    expect(reasonOf(`${longest}x`)).toBe("tooLong");
  });

  it("refuses a domain the tenant has not verified, with Graph's message", () => {
    for (const upn of ["adele@fabrikam.com", "adele@contoso.com.evil", "adele@sub.contoso.com", "adele@contoso.co"]) {
      expect(check(upn)).toEqual({
        ok: false,
        reason: "domainNotVerified",
        index: 6,
        message: UPN_DOMAIN_NOT_VERIFIED,
      });
    }
    expect(UPN_DOMAIN_NOT_VERIFIED).toBe(
      "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
    );
    expect(checkUserPrincipalName("adele@contoso.com", [])).toMatchObject({ reason: "domainNotVerified" });
  });

  it("folds only ASCII case in domains", () => {
    expect(checkUserPrincipalName("a@\u212Aontoso.com", ["kontoso.com"])).toMatchObject({
      reason: "domainNotVerified",
    });
    expect(checkUserPrincipalName("a@ﬁne.com", ["fine.com"])).toMatchObject({ reason: "domainNotVerified" });
  });

  it("reports malformed before unverified", () => {
    expect(reasonOf("bad/char@nowhere.example")).toBe("invalidCharacter");
  });

  const allowed = fc.constantFrom(..."abcXYZ019'.-_!#^~");
  const localPart = fc
    .string({ unit: allowed, minLength: 1, maxLength: MAX_UPN_LOCAL_LENGTH })
    .filter((s) => !s.endsWith("."));
  const domain = fc.constantFrom(...domains);

  it("property: every local part from the allowed set, at any verified domain in any ASCII case, is accepted", () => {
    fc.assert(
      fc.property(localPart, domain, fc.boolean(), (local, d, upper) => {
        const r = check(`${local}@${upper ? d.toUpperCase() : d}`);
        expect(r).toEqual({ ok: true, localPart: local, domain: d });
      }),
    );
  });

  it("property: one character outside the set anywhere in the local part is refused as Property userPrincipalName is invalid.", () => {
    const outside = fc
      .string({ unit: "binary", minLength: 1, maxLength: 1 })
      .filter((c) => !/^[A-Za-z0-9'.\-_!#^~]$/.test(c) && c !== "@");
    fc.assert(
      fc.property(localPart, outside, fc.nat(), domain, (local, bad, at, d) => {
        const i = at % (local.length + 1);
        const upn = `${local.slice(0, i)}${bad}${local.slice(i)}@${d}`;
        const r = check(upn);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.message).toBe(INVALID_UPN);
      }),
    );
  });

  it("property: never throws, and an accepted UPN is exactly local@verified-domain within the limits", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 130 }), (upn) => {
        const r = check(upn);
        if (r.ok) {
          expect(upn.toLowerCase()).toBe(`${r.localPart}@${r.domain}`.toLowerCase());
          expect(upn.length).toBeLessThanOrEqual(MAX_UPN_LENGTH);
          expect(r.localPart.length).toBeLessThanOrEqual(MAX_UPN_LOCAL_LENGTH);
          for (const c of ["/", "\u0000", "@"]) expect(r.localPart.includes(c)).toBe(false);
        } else {
          expect(r.index).toBeGreaterThanOrEqual(0);
          expect(r.index).toBeLessThanOrEqual(Math.max(upn.length, MAX_UPN_LENGTH));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
