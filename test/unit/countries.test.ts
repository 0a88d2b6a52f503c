import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAssignedCountryCode } from "../../functions/core/countries.ts";

describe("isAssignedCountryCode", () => {
  it.each(["US", "GB", "NL", "DE", "JP", "BR", "ZA", "AQ", "AX", "SS", "CW", "BQ"])("accepts %s", (code) => {
    expect(isAssignedCountryCode(code)).toBe(true);
  });

  it.each(["ZZ", "XX", "AA", "QM", "XA", "EU", "UK", "XK", "AN", "YU", "us", "USA", "U", "", "U\u0000"])(
    "refuses %j",
    (code) => {
      expect(isAssignedCountryCode(code)).toBe(false);
    },
  );

  it("knows 249 codes, all two upper-case letters", () => {
    let count = 0;
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) if (isAssignedCountryCode(String.fromCharCode(a, b))) count++;
    }
    expect(count).toBe(249);
    fc.assert(
      fc.property(fc.string({ maxLength: 4 }), (s) => {
        if (isAssignedCountryCode(s)) expect(s).toMatch(/^[A-Z]{2}$/);
      }),
    );
  });
});
