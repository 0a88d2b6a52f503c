import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import csv from "../../db/catalog/product-names-and-service-plan-identifiers.csv?raw";
import { parseCatalogCsv } from "../../functions/catalog/csv.ts";
import {
  exchangeFamilyOf,
  exchangePlanFamilies,
  hasExchangeMailbox,
  isExchangeMailboxPlan,
  isOneDrivePlan,
  litigationHoldAllowed,
  serviceOf,
} from "../../functions/catalog/service-plans.ts";

// The workload classification run over the whole shipped catalogue: every Exchange, SharePoint and OneDrive plan name
// Microsoft publishes is pinned to a decision, so a new catalogue with a new name fails here until someone decides.

const catalog = parseCatalogCsv(csv);
// What serviceOf answers over the catalogue's plan names, pinned (the plan's own name when no workload matches).
const DISTRIBUTION = {
  "(the plan's own name)": 472,
  AADPremiumService: 9,
  MicrosoftCommunicationsOnline: 33,
  MicrosoftOffice: 10,
  MicrosoftStream: 11,
  OfficeForms: 12,
  PowerAppsService: 37,
  ProcessSimple: 37,
  ProjectWorkManagement: 19,
  RMSOnline: 9,
  SCO: 7,
  SharePoint: 27,
  Sway: 1,
  TeamspaceAPI: 13,
  YammerEnterprise: 4,
  exchange: 27,
};
const planNames = [...new Set(catalog.products.flatMap((p) => p.servicePlans.map((s) => s.name)))].sort();
const productsByPart = (part: string) => catalog.products.filter((p) => p.skuPartNumber === part);
const plansOf = (part: string) => {
  const [product] = productsByPart(part);
  if (!product) throw new Error(`${part} is not in the catalogue`);
  return product.servicePlans.map((s) => s.name);
};

describe("the shipped catalogue", () => {
  it("is the copy the spec describes", () => {
    expect(catalog.problems).toEqual([]);
    expect(catalog.rows).toBe(5457);
    expect(catalog.products).toHaveLength(569);
    // 729 distinct names as written: the parser keeps one name per plan within a product, and Project Plan 5 for
    // faculty lists plan 664a2fed… twice, as SHAREPOINT_PROJECT_EDU and as "Project Online for Education".
    expect(planNames).toHaveLength(728);
  });
});

describe("one plan, several names", () => {
  it("never changes a plan's classification: whichever of its catalogue names the import keeps decides alike", () => {
    const rows = Papa.parse<Record<string, string>>(csv.replace(/^\uFEFF/, ""), { header: true, skipEmptyLines: true });
    const names = new Map<string, Set<string>>();
    for (const row of rows.data) {
      const id = (row.Service_Plan_Id ?? "").trim().toLowerCase();
      names.set(id, (names.get(id) ?? new Set()).add((row.Service_Plan_Name ?? "").trim()));
    }
    const several = [...names.values()].filter((n) => n.size > 1);
    // Seven plans carry two or three names (typos, case, tabs); none is a mailbox, OneDrive or hold plan.
    expect(several).toHaveLength(7);
    const classes = (name: string) => [
      isExchangeMailboxPlan(name),
      isOneDrivePlan(name),
      exchangeFamilyOf(name)?.family,
    ];
    for (const set of several) {
      const [first, ...rest] = [...set].map(classes);
      for (const other of rest) expect(other).toEqual(first);
    }
  });
});

describe("Exchange plan families", () => {
  const exchangeNames = planNames.filter((n) => /^EXCHANGE/i.test(n));
  const listed = exchangePlanFamilies.flatMap((f) => f.planNames);

  it("name every EXCHANGE* plan of the catalogue, each once, and nothing the catalogue lacks", () => {
    expect(exchangeNames).toHaveLength(19);
    expect([...listed].sort()).toEqual(exchangeNames);
    expect(new Set(listed).size).toBe(listed.length);
    for (const name of exchangeNames) expect(exchangeFamilyOf(name)?.planNames).toContain(name);
  });

  it("give a mailbox for exactly the user mailbox plans", () => {
    expect(exchangeNames.filter(isExchangeMailboxPlan)).toEqual([
      "EXCHANGE_B_STANDARD",
      "EXCHANGE_L_STANDARD",
      "EXCHANGE_S_DESKLESS",
      "EXCHANGE_S_DESKLESS_GOV",
      "EXCHANGE_S_ENTERPRISE",
      "EXCHANGE_S_ENTERPRISE_GOV",
      "EXCHANGE_S_ESSENTIALS",
      "EXCHANGE_S_STANDARD",
      "EXCHANGE_S_STANDARD_GOV",
      "EXCHANGE_S_STANDARD_MIDMARKET",
    ]);
  });

  it("are the only mailbox plans: no plan outside EXCHANGE* gives a mailbox", () => {
    expect(planNames.filter(isExchangeMailboxPlan).every((n) => n.startsWith("EXCHANGE"))).toBe(true);
    // Exchange Online Protection and its relatives are Exchange workloads without a mailbox.
    for (const name of ["EOP_ENTERPRISE", "EOP_ENTERPRISE_PREMIUM", "ATP_ENTERPRISE", "INFORMATION_BARRIERS"]) {
      expect(serviceOf(name)).toBe("exchange");
      expect(isExchangeMailboxPlan(name)).toBe(false);
    }
  });

  it("keep foundation, archiving, analytics and multi-geo plans out of the mailbox plans", () => {
    for (const name of [
      "EXCHANGE_S_FOUNDATION",
      "EXCHANGE_S_FOUNDATION_GOV",
      "EXCHANGE_FOUNDATION_GOV",
      "EXCHANGE_S_FOUNDATION PBI_PREMIUM_EM1_ADDON",
      "EXCHANGE_S_ARCHIVE_ADDON",
      "EXCHANGE_S_ARCHIVE",
      "EXCHANGE_ANALYTICS",
      "EXCHANGE_ANALYTICS_GOV",
      "EXCHANGEONLINE_MULTIGEO",
    ]) {
      expect(isExchangeMailboxPlan(name), name).toBe(false);
    }
  });

  it("treat an unknown Exchange Online user plan name as a mailbox, and unknown infrastructure names not", () => {
    expect(isExchangeMailboxPlan("EXCHANGE_S_ENTERPRISE_EDU")).toBe(true);
    expect(isExchangeMailboxPlan("EXCHANGE_L_STANDARD_V2")).toBe(true);
    expect(litigationHoldAllowed(["EXCHANGE_S_ENTERPRISE_EDU"])).toBe(false);
    expect(isExchangeMailboxPlan("EXCHANGE_S_FOUNDATION_V2")).toBe(false);
    expect(isExchangeMailboxPlan("EXCHANGE_S_ARCHIVE_ADDON_GOV")).toBe(false);
    expect(isExchangeMailboxPlan("EXCHANGE_ANALYTICS_V2")).toBe(false);
    expect(isExchangeMailboxPlan("MIP_S_Exchange")).toBe(false);
  });
});

describe("products with a mailbox", () => {
  it("are the 103 products that carry a mailbox plan", () => {
    expect(catalog.products.filter((p) => hasExchangeMailbox(p.servicePlans.map((s) => s.name)))).toHaveLength(103);
  });

  it.each([
    "STANDARDPACK",
    "ENTERPRISEPACK",
    "ENTERPRISEPREMIUM",
    "DESKLESSPACK",
    "SPE_E3",
    "SPE_E5",
    "SPE_F1",
    "O365_BUSINESS_ESSENTIALS",
    "O365_BUSINESS_PREMIUM",
    "SPB",
    "EXCHANGESTANDARD",
    "EXCHANGEENTERPRISE",
    "EXCHANGEDESKLESS",
    "EXCHANGE_S_ESSENTIALS",
    "ENTERPRISEPACK_GOV",
  ])("%s gives a mailbox", (part) => {
    expect(hasExchangeMailbox(plansOf(part))).toBe(true);
  });

  it.each([
    "AAD_PREMIUM",
    "AAD_PREMIUM_P2",
    "EMS",
    "EMSPREMIUM",
    "INTUNE_A",
    "EXCHANGEARCHIVE_ADDON",
    "EXCHANGEARCHIVE",
  ])("%s gives none", (part) => {
    expect(hasExchangeMailbox(plansOf(part))).toBe(false);
  });

  it("lose the mailbox when the mailbox plan is disabled on the assignment", () => {
    const e3 = plansOf("ENTERPRISEPACK");
    expect(hasExchangeMailbox(e3.filter((n) => n !== "EXCHANGE_S_ENTERPRISE"))).toBe(false);
  });
});

describe("litigation hold licensing", () => {
  it.each(["ENTERPRISEPACK", "ENTERPRISEPREMIUM", "SPE_E3", "SPE_E5", "EXCHANGEENTERPRISE", "ENTERPRISEPACK_GOV"])(
    "%s (Exchange Online Plan 2) allows it",
    (part) => {
      expect(litigationHoldAllowed(plansOf(part))).toBe(true);
    },
  );

  it("Business Premium allows it: Plan 1 with the archiving add-on in one product", () => {
    expect(plansOf("SPB")).toEqual(expect.arrayContaining(["EXCHANGE_S_STANDARD", "EXCHANGE_S_ARCHIVE_ADDON"]));
    expect(litigationHoldAllowed(plansOf("SPB"))).toBe(true);
  });

  it("Plan 1 plus the Exchange Online Archiving product allows it, either alone does not", () => {
    const planOne = plansOf("EXCHANGESTANDARD");
    const archiving = plansOf("EXCHANGEARCHIVE_ADDON");
    expect(litigationHoldAllowed(planOne)).toBe(false);
    expect(litigationHoldAllowed(archiving)).toBe(false);
    expect(litigationHoldAllowed([...planOne, ...archiving])).toBe(true);
  });

  it.each(["STANDARDPACK", "O365_BUSINESS_ESSENTIALS", "O365_BUSINESS_PREMIUM", "DESKLESSPACK", "SPE_F1"])(
    "%s does not",
    (part) => {
      expect(litigationHoldAllowed(plansOf(part))).toBe(false);
    },
  );

  it("Kiosk with the archiving add-on does not (the spec names Plan 1 only), nor archiving for Exchange Server", () => {
    expect(litigationHoldAllowed([...plansOf("DESKLESSPACK"), "EXCHANGE_S_ARCHIVE_ADDON"])).toBe(false);
    expect(litigationHoldAllowed(["EXCHANGE_S_STANDARD", "EXCHANGE_S_ARCHIVE"])).toBe(false);
  });

  it("is decided over enabled plans: Plan 2 disabled on E3 leaves no hold", () => {
    expect(litigationHoldAllowed(plansOf("ENTERPRISEPACK").filter((n) => n !== "EXCHANGE_S_ENTERPRISE"))).toBe(false);
  });

  it("holds in 61 products of the catalogue", () => {
    expect(catalog.products.filter((p) => litigationHoldAllowed(p.servicePlans.map((s) => s.name)))).toHaveLength(61);
  });
});

describe("OneDrive plans", () => {
  const notOneDrive = [
    "Intelligent_Content_Services_SPO_type",
    "M365_COPILOT_SHAREPOINT",
    "ONEDRIVECLIPCHAMP",
    "SHAREPOINTONLINE_MULTIGEO",
    "SHAREPOINTSTORAGE",
    "SHAREPOINTSTORAGE_GOV",
    "SHAREPOINTWAC",
    "SHAREPOINTWAC_DEVELOPER",
    "SHAREPOINTWAC_EDU",
    "SHAREPOINTWAC_GOV",
    "SHAREPOINT_PROJECT",
    "SHAREPOINT_PROJECT_EDU",
    "SHAREPOINT_PROJECT_GOV",
  ];

  it("decide every SharePoint and OneDrive plan name of the catalogue", () => {
    const named = planNames.filter((n) => /SHAREPOINT|ONEDRIVE|SPO_/i.test(n));
    expect(named.filter(isOneDrivePlan)).toEqual([
      "ONEDRIVEENTERPRISE",
      "ONEDRIVELITE_IW",
      "ONEDRIVESTANDARD",
      "ONEDRIVE_BASIC",
      "ONEDRIVE_BASIC_GOV",
      "ONEDRIVE_BASIC_P2",
      "SHAREPOINTDESKLESS",
      "SHAREPOINTDESKLESS_GOV",
      "SHAREPOINTENTERPRISE",
      "SHAREPOINTENTERPRISE_EDU",
      "SHAREPOINTENTERPRISE_GOV",
      "SHAREPOINTENTERPRISE_MIDMARKET",
      "SHAREPOINTLITE",
      "SHAREPOINTSTANDARD",
      "SHAREPOINTSTANDARD_EDU",
      "SHAREPOINT_S_DEVELOPER",
      "SharePoint Plan 1G",
    ]);
    expect(named.filter((n) => !isOneDrivePlan(n))).toEqual(notOneDrive);
  });

  it.each([
    "STANDARDPACK",
    "ENTERPRISEPACK",
    "SPE_E3",
    "DESKLESSPACK",
    "O365_BUSINESS_ESSENTIALS",
    "OFFICESUBSCRIPTION",
  ])("%s gives a OneDrive", (part) => {
    expect(plansOf(part).some(isOneDrivePlan)).toBe(true);
  });

  it.each(["EXCHANGESTANDARD", "EXCHANGEENTERPRISE", "AAD_PREMIUM", "EMS"])("%s gives none", (part) => {
    expect(plansOf(part).some(isOneDrivePlan)).toBe(false);
  });

  it("are in 155 products of the catalogue", () => {
    expect(catalog.products.filter((p) => p.servicePlans.some((s) => isOneDrivePlan(s.name)))).toHaveLength(155);
  });
});

describe("serviceOf", () => {
  it("names the catalogue's workloads as it always did", () => {
    const counts: Record<string, number> = {};
    for (const name of planNames) {
      const service = serviceOf(name);
      const key = service === name ? "(the plan's own name)" : service;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(counts).toEqual(DISTRIBUTION);
  });

  it("puts every mailbox plan under exchange and every OneDrive plan but one under SharePoint", () => {
    for (const name of planNames.filter(isExchangeMailboxPlan)) expect(serviceOf(name)).toBe("exchange");
    // "SharePoint Plan 1G" is the catalogue's only mixed-case SharePoint name; the case-sensitive table passes it through.
    const oneDrive = planNames.filter(isOneDrivePlan);
    expect(oneDrive.filter((n) => serviceOf(n) !== "SharePoint")).toEqual(["SharePoint Plan 1G"]);
  });
});
