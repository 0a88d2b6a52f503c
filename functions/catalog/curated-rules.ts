/**
 * The plan rules every new tenant starts with, taken from Microsoft's documentation (spec §1.4, §1.7, §2.7, §2.8).
 * They are data: admins edit them per tenant through /api/plan-rules.
 */
export type CuratedRule = {
  kind: "exclusive" | "requires" | "prohibited_location";
  servicePlanId: string;
  relatedServicePlanIds: string[];
  usageLocation: string | null;
  description: string;
};

export const EXCHANGE_S_STANDARD = "9aaf7827-d63c-4b61-89c3-182f06f82e5c";
export const EXCHANGE_S_ENTERPRISE = "efb87545-963c-4e0d-99df-69c6916d9eb0";
export const MCOSTANDARD = "0feaeb32-d00e-4d66-bd5a-43b5b83db82c";
export const MCOMEETADV = "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40";
export const SHAREPOINT_PROJECT = "fe71d6c3-a2ea-4499-9778-da042bf08063";
export const SHAREPOINTENTERPRISE = "5dbe027f-2339-4123-9542-606e4d348a72";
export const WORKPLACE_ANALYTICS = "f477b0f0-3bb1-4890-940c-40fcee6ce05f";

export const curatedPlanRules: CuratedRule[] = [
  {
    kind: "exclusive",
    servicePlanId: EXCHANGE_S_STANDARD,
    relatedServicePlanIds: [EXCHANGE_S_ENTERPRISE],
    usageLocation: null,
    description: "Exchange Online (Plan 1) and Exchange Online (Plan 2) cannot be assigned together.",
  },
  {
    kind: "requires",
    servicePlanId: MCOMEETADV,
    relatedServicePlanIds: [MCOSTANDARD],
    usageLocation: null,
    description: "Audio Conferencing requires Skype for Business Online (Plan 2).",
  },
  {
    kind: "requires",
    servicePlanId: SHAREPOINT_PROJECT,
    relatedServicePlanIds: [SHAREPOINTENTERPRISE],
    usageLocation: null,
    description: "Project Online Service requires SharePoint (Plan 2).",
  },
  {
    kind: "requires",
    servicePlanId: WORKPLACE_ANALYTICS,
    relatedServicePlanIds: [EXCHANGE_S_STANDARD, EXCHANGE_S_ENTERPRISE],
    usageLocation: null,
    description: "Microsoft Workplace Analytics requires Exchange Online (Plan 1) or (Plan 2).",
  },
];
