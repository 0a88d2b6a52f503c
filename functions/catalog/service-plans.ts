/**
 * The workload behind each service plan, decided from its catalogue name (the CSV's `Service_Plan_Name`) in one
 * place: Graph's `assignedPlans.service`, which plans give a user an Exchange Online mailbox or a OneDrive, and which
 * plans allow a litigation hold. Pure: no I/O, names only, so any catalogue a tenant imports is classified the same way.
 */

// Graph names the workload behind each plan in assignedPlans.service; the catalogue has only plan names.
// Matching is case-sensitive on purpose, so Graph output stays as it was
// (a case-insensitive table would also catch Flow_*, Forms_Pro_*, Intune*, Teams_Room* and "SharePoint Plan 1G").
const servicePrefixes: [RegExp, string][] = [
  [/^EXCHANGE|^EOP|^ATP_ENTERPRISE|^THREAT_INTELLIGENCE|^INFORMATION_BARRIERS/, "exchange"],
  [/^SHAREPOINT|^ONEDRIVE|^SHAREPOINTWAC/, "SharePoint"],
  [/^MCO/, "MicrosoftCommunicationsOnline"],
  [/^TEAMS/, "TeamspaceAPI"],
  [/^INTUNE/, "SCO"],
  [/^AAD_|^MFA_/, "AADPremiumService"],
  [/^RMS_/, "RMSOnline"],
  [/^OFFICESUBSCRIPTION|^OFFICE_/, "MicrosoftOffice"],
  [/^YAMMER/, "YammerEnterprise"],
  [/^PROJECT/, "ProjectWorkManagement"],
  [/^POWERAPPS/, "PowerAppsService"],
  [/^FLOW/, "ProcessSimple"],
  [/^FORMS/, "OfficeForms"],
  [/^STREAM/, "MicrosoftStream"],
  [/^SWAY/, "Sway"],
];
export const serviceOf = (planName: string) => servicePrefixes.find(([re]) => re.test(planName))?.[1] ?? planName;

/** What an Exchange plan lets a mailbox keep: a litigation hold needs Plan 2, or Plan 1 with the archiving add-on. */
export type LitigationHoldGrade = "included" | "withArchivingAddOn" | "archivingAddOn" | "none";

export type ExchangePlanFamily = {
  family: string;
  /** The plan gives the user an Exchange Online mailbox: losing the last such plan starts the 30-day countdown. */
  mailbox: boolean;
  litigationHold: LitigationHoldGrade;
  planNames: readonly string[];
  why: string;
};

/**
 * Every `EXCHANGE*` plan name in Microsoft's catalogue (the shipped CSV, 19 names), by family. A unit test runs the
 * whole CSV through this table and fails on a name it does not list, so a new catalogue forces a decision here.
 */
export const exchangePlanFamilies: readonly ExchangePlanFamily[] = [
  {
    family: "Exchange Online (Plan 1)",
    mailbox: true,
    litigationHold: "withArchivingAddOn",
    // EXCHANGE_L_STANDARD is Office 365 Small Business's plan, named "EXCHANGE ONLINE (P1)" in the catalogue.
    planNames: ["EXCHANGE_S_STANDARD", "EXCHANGE_S_STANDARD_GOV", "EXCHANGE_L_STANDARD"],
    why: "A 50 GB user mailbox (E1, Business Basic/Standard/Premium, Exchange Online Plan 1 and their GCC copies).",
  },
  {
    family: "Exchange Online (Plan 2)",
    mailbox: true,
    litigationHold: "included",
    planNames: ["EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_ENTERPRISE_GOV"],
    why: "A 100 GB mailbox with holds and archiving (E3/E5, G3/G5, A3/A5, Exchange Online Plan 2).",
  },
  {
    family: "Exchange Online Kiosk",
    mailbox: true,
    litigationHold: "none",
    planNames: ["EXCHANGE_S_DESKLESS", "EXCHANGE_S_DESKLESS_GOV"],
    why: "A 2 GB frontline mailbox (F1/F3, Exchange Online Kiosk).",
  },
  {
    family: "Exchange Online Essentials",
    mailbox: true,
    litigationHold: "none",
    planNames: ["EXCHANGE_S_ESSENTIALS"],
    why: "The mailbox of the Exchange Online Essentials product (its only plan besides To-Do).",
  },
  {
    family: "Exchange Online (legacy midsize and POP plans)",
    mailbox: true,
    litigationHold: "none",
    // The catalogue names neither Plan 1 nor Plan 2, so neither counts towards a litigation hold.
    planNames: ["EXCHANGE_S_STANDARD_MIDMARKET", "EXCHANGE_B_STANDARD"],
    why: "The mailbox of Office 365 Midsize Business (`EXCHANGE ONLINE PLAN`) and of Exchange Online POP, each its product's only mail plan.",
  },
  {
    family: "Exchange Online Archiving",
    mailbox: false,
    litigationHold: "archivingAddOn",
    planNames: ["EXCHANGE_S_ARCHIVE_ADDON"],
    why: "An archive and holds for a mailbox that another plan provides; alone it gives no mailbox.",
  },
  {
    family: "Exchange Online Archiving for Exchange Server",
    mailbox: false,
    litigationHold: "none",
    planNames: ["EXCHANGE_S_ARCHIVE"],
    why: "A cloud archive for a mailbox that lives on an on-premises Exchange Server, not an Exchange Online mailbox.",
  },
  {
    family: "Exchange Foundation",
    mailbox: false,
    litigationHold: "none",
    // The last name is the catalogue's own typo (product PBI_PREMIUM_EM1_ADDON, plan id 113feb6c…, Exchange Foundation).
    planNames: [
      "EXCHANGE_S_FOUNDATION",
      "EXCHANGE_S_FOUNDATION_GOV",
      "EXCHANGE_FOUNDATION_GOV",
      "EXCHANGE_S_FOUNDATION PBI_PREMIUM_EM1_ADDON",
    ],
    why: "Exchange infrastructure that other services use (in 224 products, Entra ID P1 among them); no mailbox.",
  },
  {
    family: "Microsoft MyAnalytics",
    mailbox: false,
    litigationHold: "none",
    planNames: ["EXCHANGE_ANALYTICS", "EXCHANGE_ANALYTICS_GOV"],
    why: "Insights computed over a mailbox that another plan provides.",
  },
  {
    family: "Exchange Online Multi-Geo",
    mailbox: false,
    litigationHold: "none",
    planNames: ["EXCHANGEONLINE_MULTIGEO"],
    why: "A tenant capability (where mailboxes live), not a mailbox.",
  },
];

const familyByPlan = new Map(exchangePlanFamilies.flatMap((f) => f.planNames.map((name) => [name, f] as const)));

/**
 * A plan name this table has not seen yet (a catalogue imported after this file was written) that looks like an
 * Exchange Online user plan: a variant of a mailbox family (a new _GOV or _EDU copy, say) is far more likely than a
 * new non-mailbox `EXCHANGE_S_` plan, and the costly mistake is the other one (a missed mailbox plan would start a
 * countdown that ends in deleted mail), so such a name counts as a mailbox, with no litigation hold.
 */
const unknownMailboxPlan = /^EXCHANGE_[SLB]_(?!.*(FOUNDATION|ARCHIVE|ANALYTICS))/;
const unknownMailboxFamily: ExchangePlanFamily = {
  family: "Exchange Online (plan not in the catalogue table)",
  mailbox: true,
  litigationHold: "none",
  planNames: [],
  why: "Named like an Exchange Online user plan; kept as a mailbox so that no countdown starts by mistake.",
};

/** The Exchange family of a plan name, or null when the plan is not an Exchange plan. */
export function exchangeFamilyOf(planName: string): ExchangePlanFamily | null {
  return familyByPlan.get(planName) ?? (unknownMailboxPlan.test(planName) ? unknownMailboxFamily : null);
}

export const isExchangeMailboxPlan = (planName: string) => exchangeFamilyOf(planName)?.mailbox === true;

/** Whether a user's enabled plans include a mailbox plan: the only Exchange fact the mailbox state machine needs. */
export function hasExchangeMailbox(enabledPlanNames: Iterable<string>): boolean {
  for (const name of enabledPlanNames) if (isExchangeMailboxPlan(name)) return true;
  return false;
}

/**
 * Spec §4 (Purview, inactive mailboxes): "it must be assigned an Exchange Online Plan 2 license (or an Exchange Online
 * Plan 1 license with an Exchange Online Archiving add-on license)". Decided over the user's enabled plans, so a plan
 * switched off through disabledPlans does not count.
 */
export function litigationHoldAllowed(enabledPlanNames: Iterable<string>): boolean {
  let planOne = false;
  let archiving = false;
  for (const name of enabledPlanNames) {
    const grade = exchangeFamilyOf(name)?.litigationHold;
    if (grade === "included") return true;
    if (grade === "withArchivingAddOn") planOne = true;
    if (grade === "archivingAddOn") archiving = true;
  }
  return planOne && archiving;
}

/**
 * Plans that give a user a OneDrive: SharePoint Online user plans (Plan 1, Plan 2, Kiosk, their EDU/GOV/legacy copies)
 * and the OneDrive-only plans. Not: Office for the web (SHAREPOINTWAC*), Project Online's site service
 * (SHAREPOINT_PROJECT*), tenant storage and Multi-Geo, Syntex, Copilot for SharePoint, and ONEDRIVECLIPCHAMP (the
 * Clipchamp add-on's storage in a OneDrive that another plan provides).
 */
const oneDrivePlans = new Set([
  "SHAREPOINTSTANDARD",
  "SHAREPOINTSTANDARD_EDU",
  "SharePoint Plan 1G",
  "SHAREPOINTENTERPRISE",
  "SHAREPOINTENTERPRISE_EDU",
  "SHAREPOINTENTERPRISE_GOV",
  "SHAREPOINTENTERPRISE_MIDMARKET",
  "SHAREPOINTDESKLESS",
  "SHAREPOINTDESKLESS_GOV",
  "SHAREPOINTLITE",
  "SHAREPOINT_S_DEVELOPER",
  "ONEDRIVESTANDARD",
  "ONEDRIVEENTERPRISE",
  "ONEDRIVE_BASIC",
  "ONEDRIVE_BASIC_GOV",
  "ONEDRIVE_BASIC_P2",
  "ONEDRIVELITE_IW",
]);

export const isOneDrivePlan = (planName: string) => oneDrivePlans.has(planName);
