import fc from "fast-check";
import { RE2JS } from "re2js";
import { describe, expect, it } from "vitest";
import {
  evaluateMembershipRule,
  evaluationStepsBound,
  MAX_EVALUATION_STEPS,
  MAX_PATTERN_PROGRAM_SIZE,
  MAX_RULE_ATTRIBUTE_LENGTH,
  MAX_RULE_LENGTH,
  MAX_RULE_PROGRAM_SIZE,
  type MembershipRule,
  MembershipRuleError,
  parseMembershipRule,
  printMembershipRule,
  RULE_STEPS_PER_PAGE,
  type RuleUser,
  ruleProperties,
  type StepMeter,
  type StringRuleProperty,
  usersPerPage,
} from "../../functions/directory/membership-rule.ts";

const baseUser: RuleUser = {
  id: "5f0a7c1e-0000-4000-8000-000000000001",
  userPrincipalName: "adele@contoso.com",
  displayName: "Adele Vance",
  mailNickname: "adele",
  givenName: "Adele",
  surname: "Vance",
  mail: "adele@contoso.com",
  usageLocation: "US",
  userType: "Member",
  accountEnabled: true,
  department: "Sales",
  country: "United States",
  jobTitle: "Account Manager",
  companyName: "Contoso",
  employeeId: "E-1001",
};

const matches = (rule: string, user: Partial<RuleUser> = {}) =>
  evaluateMembershipRule(parseMembershipRule(rule), { ...baseUser, ...user });
const matchesRule = (rule: MembershipRule, user: Partial<RuleUser> = {}) =>
  evaluateMembershipRule(rule, { ...baseUser, ...user });

const parseError = (rule: string): MembershipRuleError => {
  try {
    parseMembershipRule(rule);
  } catch (e) {
    if (e instanceof MembershipRuleError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(rule)} to be rejected`);
};

describe("comparison operators", () => {
  it.each([
    ['user.department -eq "Sales"', true],
    ['user.department -eq "Marketing"', false],
    ['user.department -ne "Marketing"', true],
    ['user.department -ne "Sales"', false],
    ['user.userPrincipalName -startsWith "adele@"', true],
    ['user.userPrincipalName -startsWith "megan@"', false],
    ['user.userPrincipalName -notStartsWith "megan@"', true],
    ['user.userPrincipalName -notStartsWith "adele@"', false],
    ['user.mail -endsWith "@contoso.com"', true],
    ['user.mail -endsWith "@fabrikam.com"', false],
    ['user.mail -notEndsWith "@fabrikam.com"', true],
    ['user.mail -notEndsWith "@contoso.com"', false],
    ['user.jobTitle -contains "count Man"', true],
    ['user.jobTitle -contains "Engineer"', false],
    ['user.jobTitle -notContains "Engineer"', true],
    ['user.jobTitle -notContains "Manager"', false],
    ['user.employeeId -match "^E-\\d{4}$"', true],
    ['user.employeeId -match "^X-"', false],
    ['user.employeeId -notMatch "^X-"', true],
    ['user.employeeId -notMatch "^E-"', false],
    ['user.usageLocation -in ["GB", "US"]', true],
    ['user.usageLocation -in ["GB", "FR"]', false],
    ['user.usageLocation -notIn ["GB", "FR"]', true],
    ['user.usageLocation -notIn ["US"]', false],
    ["user.accountEnabled -eq true", true],
    ["user.accountEnabled -eq false", false],
    ["user.accountEnabled -ne false", true],
    ["user.accountEnabled -ne true", false],
    ['user.objectId -eq "5F0A7C1E-0000-4000-8000-000000000001"', true],
    ['user.userType -eq "Guest"', false],
  ])("%s → %s", (rule, expected) => {
    expect(matches(rule)).toBe(expected);
  });

  it("maps every Entra property name to the user field", () => {
    const names: [string, keyof RuleUser][] = [
      ["objectId", "id"],
      ["userPrincipalName", "userPrincipalName"],
      ["displayName", "displayName"],
      ["mailNickname", "mailNickname"],
      ["givenName", "givenName"],
      ["surname", "surname"],
      ["mail", "mail"],
      ["usageLocation", "usageLocation"],
      ["userType", "userType"],
      ["department", "department"],
      ["country", "country"],
      ["jobTitle", "jobTitle"],
      ["companyName", "companyName"],
      ["employeeId", "employeeId"],
    ];
    for (const [entra, key] of names) {
      expect(matches(`user.${entra} -eq "probe-value"`, { [key]: "PROBE-value" })).toBe(true);
      expect(matches(`user.${entra} -eq "probe-value"`, { [key]: "other" })).toBe(false);
    }
  });

  it("accepts quoted booleans and any letter case for true/false", () => {
    expect(matches('user.accountEnabled -eq "TRUE"')).toBe(true);
    expect(matches("user.accountEnabled -eq False", { accountEnabled: false })).toBe(true);
  });
});

describe("case-insensitivity", () => {
  it("compares values case-insensitively", () => {
    expect(matches('user.department -eq "sALES"')).toBe(true);
    expect(matches('user.mail -endsWith "@CONTOSO.COM"')).toBe(true);
    expect(matches('user.displayName -contains "VANCE"')).toBe(true);
    expect(matches('user.displayName -startsWith "adele"')).toBe(true);
    expect(matches('user.usageLocation -in ["us"]')).toBe(true);
    expect(matches('user.displayName -match "^adele"')).toBe(true);
  });

  it("reads operators and logical keywords in any case, with or without the dash", () => {
    expect(matches('user.department -EQ "Sales"')).toBe(true);
    expect(matches('user.mail -ENDSWITH "contoso.com"')).toBe(true);
    expect(matches('user.usageLocation -NotIn ["GB"]')).toBe(true);
    expect(matches('user.department -eq "Sales" -AND user.userType -eq "Member"')).toBe(true);
    expect(matches('user.department -eq "Sales" and user.userType -eq "Member"')).toBe(true);
    expect(matches('user.department -eq "x" OR user.userType -eq "Member"')).toBe(true);
    expect(matches('NOT user.department -eq "x"')).toBe(true);
  });

  it("keeps property names case-sensitive", () => {
    expect(parseError('user.Department -eq "Sales"').position).toBe(0);
    expect(parseError('User.department -eq "Sales"').position).toBe(0);
  });
});

describe("null handling", () => {
  const noDept = { department: null };
  it.each([
    ["user.department -eq null", true],
    ["user.department -ne null", false],
    ['user.department -eq "Sales"', false],
    ['user.department -ne "Sales"', true],
    ['user.department -startsWith "S"', false],
    ['user.department -notStartsWith "S"', true],
    ['user.department -endsWith "s"', false],
    ['user.department -contains ""', false],
    ['user.department -notContains "a"', true],
    ['user.department -match ".*"', false],
    ['user.department -notMatch ".*"', true],
    ['user.department -in ["Sales"]', false],
    ['user.department -notIn ["Sales"]', true],
  ])("%s on a null department → %s", (rule, expected) => {
    expect(matches(rule, noDept)).toBe(expected);
  });

  it("treats a present value as not null, and an absent field like null", () => {
    expect(matches("user.department -eq null")).toBe(false);
    expect(matches("user.department -ne NULL")).toBe(true);
    const { department: _omit, ...partial } = baseUser;
    expect(evaluateMembershipRule(parseMembershipRule("user.department -eq null"), partial as RuleUser)).toBe(true);
    expect(evaluateMembershipRule(parseMembershipRule('user.department -ne "x"'), partial as RuleUser)).toBe(true);
  });

  it("does not treat an empty string as null", () => {
    expect(matches("user.department -eq null", { department: "" })).toBe(false);
    expect(matches('user.department -eq ""', { department: "" })).toBe(true);
  });

  it("rejects null with operators other than -eq/-ne", () => {
    expect(parseError("user.department -contains null").position).toBe(26);
  });
});

describe("logic", () => {
  // a = true, b = false, c = false for baseUser
  const a = 'user.department -eq "Sales"';
  const b = 'user.userType -eq "Guest"';
  const c = "user.accountEnabled -eq false";

  it("binds -and tighter than -or", () => {
    // a -or (b -and c) = true; (a -or b) -and c would be false
    expect(matches(`${a} -or ${b} -and ${c}`)).toBe(true);
    expect(matches(`(${a} -or ${b}) -and ${c}`)).toBe(false);
    expect(parseMembershipRule(`${a} -or ${b} -and ${c}`).kind).toBe("or");
  });

  it("binds -not tighter than -and but looser than comparisons", () => {
    // (-not a) -and b = false, whereas -not (a -and b) = true
    expect(matches(`-not ${a} -and ${b}`)).toBe(false);
    expect(matches(`-not (${a} -and ${b})`)).toBe(true);
    expect(parseMembershipRule(`-not ${a} -and ${b}`)).toMatchObject({ kind: "and", operands: [{ kind: "not" }, {}] });
    expect(matches(`-not -not ${a}`)).toBe(true);
  });

  it("honours parentheses", () => {
    expect(matches(`((${a}))`)).toBe(true);
    expect(matches(`(${b} -or ${a}) -and -not (${c})`)).toBe(true);
    expect(matches(`-not(${a})`)).toBe(false);
  });

  it("flattens chains of the same operator", () => {
    expect(parseMembershipRule(`${a} -and ${b} -and ${c}`)).toMatchObject({ kind: "and", operands: [{}, {}, {}] });
  });
});

describe("values", () => {
  it('unescapes \\" and \\\\ and keeps other backslashes', () => {
    expect(parseMembershipRule('user.jobTitle -eq "say \\"hi\\" \\\\ \\d"')).toEqual({
      kind: "string",
      property: "jobTitle",
      operator: "-eq",
      value: 'say "hi" \\ \\d',
    });
    expect(matches('user.jobTitle -eq "The \\"Boss\\""', { jobTitle: 'the "boss"' })).toBe(true);
  });

  it("reads -in lists with whitespace and escapes", () => {
    expect(parseMembershipRule('user.country -in [ "a" ,"b\\"c"]')).toEqual({
      kind: "list",
      property: "country",
      operator: "-in",
      values: ["a", 'b"c'],
    });
  });
});

describe("errors", () => {
  it.each([
    ['user.departmnt -eq "Sales"', 0, "unknown property 'user.departmnt'"],
    ['user.department -eq "a" -and user.title -eq "b"', 29, "unknown property"],
    ["user.department -eq", 19, "expected a value after '-eq'"],
    ["user.department -eq -and", 20, "expected a value after '-eq'"],
    ["user.department -eq Sales", 20, "expected a value"],
    ['(user.department -eq "a"', 0, "unclosed '('"],
    ['((user.department -eq "a")', 0, "unclosed '('"],
    ['user.department -eq "Sales', 20, "unterminated string"],
    ['user.department -eq "Sales" user.country -eq "x"', 28, "unexpected 'user.country'"],
    ['user.department -eq "Sales")', 27, "unexpected ')'"],
    ['user.department -eq "Sales" -and', 32, "expected a property"],
    ['user.department "Sales"', 16, "expected an operator"],
    ['user.department -like "Sales"', 16, "unknown operator '-like'"],
    ['user.accountEnabled -contains "t"', 20, "not supported"],
    ['user.accountEnabled -eq "yes"', 24, "expected true or false"],
    ['user.country -in "US"', 17, "expected a value after '-in'"],
    ['user.country -in ["US"', 17, "unclosed '['"],
    ['user.country -in ["US" "GB"]', 23, "expected ',' or ']'"],
    ["user.country -in []", 18, "expected a string in the list"],
    ['user.mail -match "(unclosed"', 17, "invalid regular expression"],
    ['user.mail -match "[a-"', 17, "invalid regular expression"],
    ['user.mail -match "(a)\\1"', 17, "backreferences are not supported"],
    ['user.mail -match "(?<n>a)\\k<n>"', 17, "backreferences are not supported"],
    ['user.mail -match "(?=a)b"', 17, "lookahead and lookbehind are not supported"],
    ['user.mail -match "(?!a)b"', 17, "lookahead and lookbehind are not supported"],
    ['user.mail -match "(?<=a)b"', 17, "lookahead and lookbehind are not supported"],
    ['user.department -eq "x" -or user.mail -notMatch "(?<!a)b"', 48, "lookahead and lookbehind"],
    ['user.mail -match "(?>a)"', 17, "atomic groups are not supported"],
    ['user.mail -match "a++"', 17, "invalid nested repetition operator: '++'"],
    ['user.mail -match "a{1001}"', 17, "invalid repeat count: '{1001}'"],
    ['user.mail -match "x\\Z"', 17, "invalid escape sequence: '\\Z'"],
    ['user.department -eq "x" @', 24, 'unexpected character "@"'],
    ["", 0, "expected a property"],
    ["   ", 3, "expected a property"],
  ])("%j → position %i", (rule, position, fragment) => {
    const e = parseError(rule);
    expect(e.position).toBe(position);
    expect(e.message).toContain(fragment);
    expect(e.message).toContain(`at position ${position}.`);
    expect(e.message.startsWith("Invalid membership rule: ")).toBe(true);
  });

  it("reports the earliest problem in reading order", () => {
    expect(parseError('user.nope -eq "unterminated').message).toContain("unknown property");
  });

  it("rejects -match patterns longer than 256 characters", () => {
    const ok = `user.mail -match "${"a".repeat(256)}"`;
    expect(() => parseMembershipRule(ok)).not.toThrow();
    const e = parseError(`user.mail -match "${"a".repeat(257)}"`);
    expect(e.position).toBe(17);
    expect(e.message).toContain("longer than 256");
  });

  it("accepts common patterns, including nested repetition RE2 runs in linear time", () => {
    for (const p of [
      "^.*@contoso\\.com$",
      "(ab)+c+",
      "^(a|b)*$",
      "(\\d{3}-){2}\\d{4}",
      "[(+*]+",
      "(?:x)+y",
      "(\\w+\\.)+",
      "(a+)+$",
      "(?i)^ADELE",
      "(?<first>\\w+) (?<last>\\w+)",
      "\\p{L}+",
    ]) {
      expect(() => parseMembershipRule(`user.mail -match "${p}"`), p).not.toThrow();
    }
  });

  it("enforces the 3072-character limit on the raw rule", () => {
    const pad = (n: number) => `user.department -eq "${"x".repeat(n - 22)}"`;
    expect(pad(3072)).toHaveLength(3072);
    expect(() => parseMembershipRule(pad(3072))).not.toThrow();
    const e = parseError(pad(3073));
    expect(e.position).toBe(3072);
    expect(e.message).toBe("Membership rule exceeds the maximum length of 3072 characters.");
  });

  it("limits parenthesis nesting to 32", () => {
    const nest = (n: number) => `${"(".repeat(n)}user.department -eq "a"${")".repeat(n)}`;
    expect(matches(nest(32))).toBe(false);
    const e = parseError(nest(33));
    expect(e.position).toBe(32);
    expect(e.message).toContain("nest deeper than the maximum of 32");
  });

  it("is an Error with a name", () => {
    const e = parseError("x");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("MembershipRuleError");
  });
});

describe("regular expressions (RE2: linear time)", () => {
  // workerd's clock only moves between I/O, so the wall-time checks below are coarse; the step count in
  // "evaluation work" is the precise bound, and the test timeout catches anything that really stalls.
  // The patterns: exponential for a backtracking engine on a failing 30-character value.
  const catastrophic = [
    "(a|a)*b",
    "(.*a){12}b",
    "(a+)+$",
    "(x+x+)+y",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(\\w+\\.)+@",
    "^(a|aa)+$",
    "(.*){1,30}[bc]",
  ];
  const values = ["a".repeat(30), "x".repeat(31), "a".repeat(MAX_RULE_ATTRIBUTE_LENGTH), `${"aaaa.".repeat(51)}!`];

  it.each(catastrophic)("%s evaluates in milliseconds against 30+ and 256-character values", (pattern) => {
    const rule = parseMembershipRule(`user.displayName -match "${pattern.replaceAll("\\", "\\\\")}"`);
    for (const displayName of values) {
      const started = performance.now();
      matchesRule(rule, { displayName });
      expect(performance.now() - started, `${pattern} on ${displayName.length} chars`).toBeLessThan(250);
    }
  });

  it("all of them against every value stays well under a second", () => {
    const started = performance.now();
    for (const pattern of catastrophic) {
      const rule = parseMembershipRule(`user.displayName -match "${pattern.replaceAll("\\", "\\\\")}"`);
      for (let i = 0; i < 20; i++)
        for (const displayName of values) matchesRule(rule, { displayName: `${displayName}${i}` });
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("agrees with JavaScript's RegExp on short values where both are defined", () => {
    const patterns = ["^a", "b$", "^$", "a|b", "[aq]", "(ab)+", "^.*$", "^E-\\d{4}$", "(a|a)*b", "(x+x+)+y", "s.l"];
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.string({ unit: fc.constantFrom(..."abxyqsSlE-0123 "), maxLength: 12 }),
        (p, v) => {
          const rule = parseMembershipRule(`user.department -match "${p.replaceAll("\\", "\\\\")}"`);
          expect(matchesRule(rule, { department: v })).toBe(new RegExp(p, "i").test(v));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("rewrites \\uXXXX to RE2's \\x{XXXX} and leaves an escaped backslash alone", () => {
    expect(matches('user.displayName -match "^\\u0041dele"')).toBe(true);
    // The regex ^\\u0041 (an escaped backslash, then "u0041"); the rule's own quoting doubles each backslash again.
    const literal: MembershipRule = {
      kind: "string",
      property: "displayName",
      operator: "-match",
      value: "^\\\\u0041",
    };
    const rule = parseMembershipRule(printMembershipRule(literal));
    expect(rule).toEqual(literal);
    expect(matchesRule(rule, { displayName: "\\u0041" })).toBe(true);
    expect(matchesRule(rule, { displayName: "A" })).toBe(false);
  });

  it("refuses a pattern whose RE2 program is too large, and a rule whose patterns are together", () => {
    expect(() => parseMembershipRule(`user.mail -match "a{${MAX_PATTERN_PROGRAM_SIZE - 2}}"`)).not.toThrow();
    const one = parseError(`user.mail -match "a{${MAX_PATTERN_PROGRAM_SIZE}}"`);
    expect(one.position).toBe(17);
    expect(one.message).toContain(
      `too complex (program size ${MAX_PATTERN_PROGRAM_SIZE + 2}; the maximum is ${MAX_PATTERN_PROGRAM_SIZE})`,
    );
    const big = `"a{${MAX_PATTERN_PROGRAM_SIZE - 2}}"`;
    expect(() => parseMembershipRule(`user.mail -match ${big} -or user.mail -match ${big}`)).not.toThrow();
    const rule = `user.mail -match ${big} -or user.mail -match ${big} -or user.mail -match "ab"`;
    const together = parseError(rule);
    expect(together.position).toBe(rule.lastIndexOf('"ab"'));
    const ab = RE2JS.compile("ab", RE2JS.CASE_INSENSITIVE).programSize();
    expect(together.message).toContain(`too complex together (program size ${MAX_RULE_PROGRAM_SIZE + ab}`);
    expect(MAX_RULE_PROGRAM_SIZE).toBe(2 * MAX_PATTERN_PROGRAM_SIZE);
  });
});

describe("evaluation work", () => {
  const count = (rule: MembershipRule, user: Partial<RuleUser> = {}) => {
    const meter: StepMeter = { steps: 0 };
    evaluateMembershipRule(rule, { ...baseUser, ...user }, meter);
    return meter.steps;
  };

  it("counts a step per node and the characters each test reads", () => {
    expect(count(parseMembershipRule('user.department -eq "Sales"'))).toBe(1 + 5 + 5);
    expect(count(parseMembershipRule("user.accountEnabled -eq true"))).toBe(1);
    expect(count(parseMembershipRule("user.department -eq null"))).toBe(1);
    expect(count(parseMembershipRule('user.department -in ["a", ""]'))).toBe(1 + 5 + 2 + 1);
    expect(count(parseMembershipRule('user.department -contains "x"'), { department: null })).toBe(1);
    // -and stops at the first false operand: 1 (and) + 1 + 5 + 1 (the false test); the third is never read.
    expect(count(parseMembershipRule('user.department -eq "x" -and user.mail -eq "y" -and user.country -eq "z"'))).toBe(
      1 + 1 + 5 + 1,
    );
    const match = parseMembershipRule('user.department -match "^S"');
    expect(count(match)).toBe(1 + (5 + 1) * RE2JS.compile("^S", RE2JS.CASE_INSENSITIVE).programSize());
    expect(count(parseMembershipRule('-not user.department -eq "Sales"'))).toBe(2 + 10);
  });

  it("accumulates across calls on one meter, and works without one", () => {
    const rule = parseMembershipRule('user.department -eq "Sales"');
    const meter: StepMeter = { steps: 0 };
    evaluateMembershipRule(rule, baseUser, meter);
    evaluateMembershipRule(rule, baseUser, meter);
    expect(meter.steps).toBe(22);
    expect(evaluateMembershipRule(rule, baseUser)).toBe(true);
  });

  const longest: RuleUser = Object.fromEntries(
    Object.entries(baseUser).map(([k, v]) => [k, typeof v === "string" ? "a".repeat(MAX_RULE_ATTRIBUTE_LENGTH) : v]),
  ) as RuleUser;

  /** Rules of maximal size built to make an evaluation do as much as it can: every operand false, so -or reads all. */
  function worstCaseRules(): string[] {
    const fill = (head: string, clause: string) => {
      let rule = head;
      while (rule.length + clause.length <= MAX_RULE_LENGTH) rule += clause;
      return rule;
    };
    const heavy = `a{${MAX_PATTERN_PROGRAM_SIZE - 2}}`; // needs 510 a's, values have 256: never matches, reads everything
    const twoHeavy = `user.mail -match "${heavy}" -or user.displayName -match "${heavy}"`;
    return [
      // the regex budget spent, then as many attribute reads as fit
      fill(twoHeavy, ' -or user.mail-eq""'),
      fill(twoHeavy, " -or(user.mail -eq null)"),
      // long literals against long values
      fill(twoHeavy, ` -or user.mail -contains "${"b".repeat(200)}"`),
      // lists: many values
      `user.mail -in [${Array.from({ length: Math.floor((MAX_RULE_LENGTH - 16) / 3) }, () => '""').join(",")}]`,
      // many small patterns, each read against a maximal value
      fill('user.mail -match "b"', ' -or user.mail -match "b"'),
      // deep -not chains
      `${"-not ".repeat(600)}user.mail -eq "b"`,
    ];
  }

  it("a rule within the size limits never exceeds MAX_EVALUATION_STEPS against maximal values, and runs fast", () => {
    for (const text of worstCaseRules()) {
      expect(text.length).toBeLessThanOrEqual(MAX_RULE_LENGTH);
      const rule = parseMembershipRule(text);
      const meter: StepMeter = { steps: 0 };
      const started = performance.now();
      for (let i = 0; i < 10; i++) evaluateMembershipRule(rule, longest, meter);
      const elapsed = (performance.now() - started) / 10;
      expect(meter.steps / 10, text.slice(0, 60)).toBeLessThanOrEqual(MAX_EVALUATION_STEPS);
      expect(elapsed, text.slice(0, 60)).toBeLessThan(100);
    }
    // The regex-heavy rule spends most of the budget: the bound is close to what the worst case does.
    const meter: StepMeter = { steps: 0 };
    evaluateMembershipRule(parseMembershipRule(worstCaseRules()[0]!), longest, meter);
    expect(meter.steps).toBeGreaterThan(MAX_EVALUATION_STEPS * 0.8);
  });

  it("evaluationStepsBound is what the worst cases take, and at most MAX_EVALUATION_STEPS", () => {
    for (const text of worstCaseRules()) {
      const rule = parseMembershipRule(text);
      const meter: StepMeter = { steps: 0 };
      evaluateMembershipRule(rule, longest, meter);
      // Every operand is read against a maximal value in these, so the bound is met exactly.
      expect(meter.steps, text.slice(0, 60)).toBe(evaluationStepsBound(rule));
      expect(evaluationStepsBound(rule)).toBeLessThanOrEqual(MAX_EVALUATION_STEPS);
    }
  });

  it("a rule job's page holds at most RULE_STEPS_PER_PAGE of rule work; plain rules keep full pages", () => {
    const plain = parseMembershipRule('user.department -eq "Sales" -or user.country -in ["NL", "BE"]');
    expect(usersPerPage(plain)).toBeGreaterThanOrEqual(2000);
    expect(usersPerPage(null)).toBe(Number.POSITIVE_INFINITY);
    for (const text of worstCaseRules()) {
      const rule = parseMembershipRule(text);
      expect(usersPerPage(rule) * evaluationStepsBound(rule)).toBeLessThanOrEqual(RULE_STEPS_PER_PAGE);
      expect(usersPerPage(rule)).toBeGreaterThanOrEqual(1);
    }
  });

  it("property: printed random rules that fit the limits stay within the budget on maximal and random users", () => {
    fc.assert(
      fc.property(ruleArb, userArb, (rule, user) => {
        const text = printMembershipRule(rule);
        fc.pre(text.length <= MAX_RULE_LENGTH);
        const parsed = parseMembershipRule(text);
        for (const u of [user, longest]) {
          const meter: StepMeter = { steps: 0 };
          evaluateMembershipRule(parsed, u, meter);
          expect(meter.steps).toBeLessThanOrEqual(evaluationStepsBound(parsed));
          expect(evaluationStepsBound(parsed)).toBeLessThanOrEqual(MAX_EVALUATION_STEPS);
          expect(meter.steps).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("ruleProperties", () => {
  it("lists the user fields a rule reads, using RuleUser keys", () => {
    const rule = parseMembershipRule(
      '(user.department -eq "Sales" -or user.objectId -in ["1"]) -and -not user.accountEnabled -eq false -and user.department -ne null',
    );
    expect([...ruleProperties(rule)].sort()).toEqual(["accountEnabled", "department", "id"]);
    expect(ruleProperties(parseMembershipRule('user.mail -match "x"'))).toEqual(new Set(["mail"]));
  });
});

// ---------------------------------------------------------------------------
// Properties

const stringProps: StringRuleProperty[] = [
  "id",
  "userPrincipalName",
  "displayName",
  "mailNickname",
  "givenName",
  "surname",
  "mail",
  "usageLocation",
  "userType",
  "department",
  "country",
  "jobTitle",
  "companyName",
  "employeeId",
];
const nonNullable = new Set<StringRuleProperty>(["id", "userPrincipalName", "displayName", "userType"]);

// Small alphabet so random values and random users actually collide.
const word = fc.constantFrom("", "a", "A", "ab", "Sales", "sales", "SAL", 'q"t', "b\\s", "\\", "x y", "İ");
const pattern = fc.constantFrom("^a", "b$", "^$", "s", "a|b", "\\\\", "[aq]", '"', "(ab)+", "^.*$");

const userArb: fc.Arbitrary<RuleUser> = fc
  .record({
    ...Object.fromEntries(stringProps.map((p) => [p, nonNullable.has(p) ? word : fc.option(word, { nil: null })])),
    accountEnabled: fc.boolean(),
  })
  .map((u) => u as unknown as RuleUser);

const comparisonArb: fc.Arbitrary<MembershipRule> = fc.oneof(
  fc.record({
    kind: fc.constant("string" as const),
    property: fc.constantFrom(...stringProps),
    operator: fc.constantFrom(
      "-eq" as const,
      "-ne" as const,
      "-startsWith" as const,
      "-notStartsWith" as const,
      "-endsWith" as const,
      "-notEndsWith" as const,
      "-contains" as const,
      "-notContains" as const,
    ),
    value: word,
  }),
  fc.record({
    kind: fc.constant("string" as const),
    property: fc.constantFrom(...stringProps),
    operator: fc.constantFrom("-match" as const, "-notMatch" as const),
    value: pattern,
  }),
  fc.record({
    kind: fc.constant("null" as const),
    property: fc.constantFrom(...stringProps),
    operator: fc.constantFrom("-eq" as const, "-ne" as const),
  }),
  fc.record({
    kind: fc.constant("list" as const),
    property: fc.constantFrom(...stringProps),
    operator: fc.constantFrom("-in" as const, "-notIn" as const),
    values: fc.tuple(word, fc.array(word, { maxLength: 3 })).map(([h, t]): [string, ...string[]] => [h, ...t]),
  }),
  fc.record({
    kind: fc.constant("boolean" as const),
    property: fc.constant("accountEnabled" as const),
    operator: fc.constantFrom("-eq" as const, "-ne" as const),
    value: fc.boolean(),
  }),
);

const { rule: ruleArb } = fc.letrec<{ rule: MembershipRule }>((tie) => ({
  rule: fc.oneof(
    { maxDepth: 4, depthIdentifier: "rule" },
    comparisonArb,
    tie("rule").map((operand): MembershipRule => ({ kind: "not", operand })),
    fc
      .tuple(
        fc.constantFrom("and" as const, "or" as const),
        tie("rule"),
        tie("rule"),
        fc.array(tie("rule"), { maxLength: 2 }),
      )
      .map(([kind, a, b, rest]): MembershipRule => ({ kind, operands: [a, b, ...rest] })),
  ),
}));

describe("properties", () => {
  const onlyRuleErrors = (input: string) => {
    try {
      parseMembershipRule(input);
    } catch (e) {
      if (!(e instanceof MembershipRuleError)) throw e;
      expect(Number.isInteger(e.position)).toBe(true);
      expect(e.position).toBeGreaterThanOrEqual(0);
      expect(e.position).toBeLessThanOrEqual(Math.min(input.length, 3072));
    }
  };

  it("parse only ever throws MembershipRuleError (arbitrary strings)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: "binary" }), onlyRuleErrors), { numRuns: 2000 });
  });

  it("parse only ever throws MembershipRuleError (rule-shaped token soup)", () => {
    const token = fc.constantFrom(
      "user.department",
      "user.accountEnabled",
      "user.objectId",
      "user.nope",
      "-eq",
      "-NE",
      "-in",
      "-match",
      "-contains",
      "-and",
      "or",
      "-not",
      "(",
      ")",
      "[",
      "]",
      ",",
      '"Sales"',
      '"(a+)+"',
      '"["',
      '"\\"',
      '"',
      "null",
      "true",
      "-",
      "@",
      " ",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (parts) => onlyRuleErrors(parts.join(" "))),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 30 }), (parts) => onlyRuleErrors(parts.join(""))),
      { numRuns: 3000 },
    );
  });

  it("print then parse gives back the same rule, which evaluates the same", () => {
    fc.assert(
      fc.property(ruleArb, fc.array(userArb, { minLength: 1, maxLength: 5 }), (rule, users) => {
        const text = printMembershipRule(rule);
        const reparsed = parseMembershipRule(text);
        expect(reparsed).toEqual(rule);
        for (const u of users) expect(evaluateMembershipRule(reparsed, u)).toBe(evaluateMembershipRule(rule, u));
      }),
      { numRuns: 1000 },
    );
  });

  it("De Morgan: -not (a -and b) ≡ (-not a) -or (-not b)", () => {
    fc.assert(
      fc.property(ruleArb, ruleArb, fc.array(userArb, { minLength: 1, maxLength: 5 }), (a, b, users) => {
        // Parenthesised because a printed top-level -or would otherwise bind looser than the -and around it.
        const pa = `(${printMembershipRule(a)})`;
        const pb = `(${printMembershipRule(b)})`;
        const lhs = parseMembershipRule(`-not (${pa} -and ${pb})`);
        const rhs = parseMembershipRule(`(-not ${pa}) -or (-not ${pb})`);
        for (const u of users) expect(evaluateMembershipRule(lhs, u)).toBe(evaluateMembershipRule(rhs, u));
      }),
      { numRuns: 500 },
    );
  });

  it("ruleProperties covers every field that can change the result", () => {
    fc.assert(
      fc.property(ruleArb, userArb, userArb, (rule, u, other) => {
        const read = ruleProperties(rule);
        // Copy only the fields the rule does not read; the verdict must not move.
        const mixed = { ...u } as Record<string, unknown>;
        for (const [k, v] of Object.entries(other)) if (!read.has(k)) mixed[k] = v;
        expect(evaluateMembershipRule(rule, mixed as RuleUser)).toBe(evaluateMembershipRule(rule, u));
      }),
      { numRuns: 500 },
    );
  });

  it("a -eq and its -ne twin always disagree", () => {
    fc.assert(
      fc.property(fc.constantFrom(...stringProps), word, userArb, (p, v, u) => {
        const eq = evaluateMembershipRule({ kind: "string", property: p, operator: "-eq", value: v }, u);
        const ne = evaluateMembershipRule({ kind: "string", property: p, operator: "-ne", value: v }, u);
        expect(eq).toBe(!ne);
      }),
    );
  });
});
