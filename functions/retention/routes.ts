/** Retention's route contracts. */
import { defineRoute, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import {
  ApplyLabelSchema,
  CreateLabelSchema,
  IdParam,
  LedgerCollection,
  LedgerEntrySchema,
  LicensingPreviewRequest,
  LicensingPreviewSchema,
  MailboxCollection,
  MailboxItemCollection,
  MailboxListQuery,
  MailboxSchema,
  NewItemsSchema,
  OneDriveSchema,
  PageQuery,
  PreviewQuery,
  PurgePreviewSchema,
  RetentionLabelCollection,
  RetentionLabelSchema,
  RetentionSettingsSchema,
  RunPurgeSchema,
  UpdateMailboxSchema,
  UpdateRetentionSettingsSchema,
  UserRefParam,
} from "./schemas.ts";

const tags = ["Retention"];

export const listMailboxes = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/mailboxes",
  operationId: "listMailboxes",
  tags,
  summary: "The tenant's mailboxes, by state (Active, Disconnected, Inactive, Purged) and litigation hold",
  request: { query: MailboxListQuery },
  responses: { 200: jsonResponse(MailboxCollection, "A page of mailboxes") },
});

export const getMailbox = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/mailboxes/{id}",
  operationId: "getMailbox",
  tags,
  summary: "A user's current mailbox (by user id or userPrincipalName; a deleted user's by id)",
  request: { params: UserRefParam },
  responses: { 200: jsonResponse(MailboxSchema, "The mailbox") },
});

export const updateMailbox = defineRoute(can.manageRetention, {
  method: "patch",
  path: "/api/mailboxes/{id}",
  operationId: "updateMailbox",
  tags,
  summary: "Place or remove a litigation hold",
  description:
    "A hold needs Exchange Online (Plan 2), or Plan 1 with the Exchange Online Archiving add-on, among the user's enabled plans. Removing the hold of an inactive mailbox starts a 183-day countdown.",
  request: { params: UserRefParam, body: jsonBody(UpdateMailboxSchema) },
  responses: { 200: jsonResponse(MailboxSchema, "The mailbox") },
});

export const listMailboxItems = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/mailboxes/{id}/items",
  operationId: "listMailboxItems",
  tags,
  summary: "The items of a user's current mailbox",
  request: { params: UserRefParam, query: PageQuery },
  responses: { 200: jsonResponse(MailboxItemCollection, "A page of items") },
});

export const addMailboxItems = defineRoute(can.deliverMail, {
  method: "post",
  path: "/api/mailboxes/{id}/items",
  operationId: "addMailboxItems",
  tags,
  summary: "Mail arriving in an Active mailbox (the stand-in for delivery)",
  request: { params: UserRefParam, body: jsonBody(NewItemsSchema) },
  responses: { 201: jsonResponse(MailboxItemCollection, "The new items") },
});

export const applyRetentionLabel = defineRoute(can.manageRetention, {
  method: "post",
  path: "/api/mailboxes/{id}/items/applyLabel",
  operationId: "applyRetentionLabel",
  tags,
  summary: "Apply a retention label to items (or take it off with null)",
  request: { params: UserRefParam, body: jsonBody(ApplyLabelSchema) },
  responses: { 200: jsonResponse(MailboxItemCollection, "The items as labelled") },
});

export const listRetentionLabels = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention-labels",
  operationId: "listRetentionLabels",
  tags,
  summary: "The tenant's retention labels",
  responses: { 200: jsonResponse(RetentionLabelCollection, "The labels") },
});

export const getRetentionLabel = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention-labels/{id}",
  operationId: "getRetentionLabel",
  tags,
  summary: "A retention label",
  request: { params: IdParam },
  responses: { 200: jsonResponse(RetentionLabelSchema, "The label") },
});

export const createRetentionLabel = defineRoute(can.manageRetention, {
  method: "post",
  path: "/api/retention-labels",
  operationId: "createRetentionLabel",
  tags,
  summary: "Create a retention label: it keeps an item for retentionDays from the item's received date",
  request: { body: jsonBody(CreateLabelSchema) },
  responses: { 201: jsonResponse(RetentionLabelSchema, "The new label") },
});

export const deleteRetentionLabel = defineRoute(can.manageRetention, {
  method: "delete",
  path: "/api/retention-labels/{id}",
  operationId: "deleteRetentionLabel",
  tags,
  summary: "Delete a retention label no item carries",
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" } },
});

export const getOneDrive = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/onedrive/{id}",
  operationId: "getOneDrive",
  tags,
  summary: "A user's OneDrive: kept when the license goes, retained from the user's deletion, then purged",
  request: { params: UserRefParam },
  responses: { 200: jsonResponse(OneDriveSchema, "The OneDrive") },
});

export const getRetentionSettings = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention/settings",
  operationId: "getRetentionSettings",
  tags,
  summary: "The tenant's OneDrive retention for deleted users (days)",
  responses: { 200: jsonResponse(RetentionSettingsSchema, "The settings") },
});

export const updateRetentionSettings = defineRoute(can.manageRetention, {
  method: "patch",
  path: "/api/retention/settings",
  operationId: "updateRetentionSettings",
  tags,
  summary: "Change the OneDrive retention (30-3650 days; applies to users deleted from now on)",
  request: { body: jsonBody(UpdateRetentionSettingsSchema) },
  responses: { 200: jsonResponse(RetentionSettingsSchema, "The settings") },
});

export const previewPurge = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention/preview",
  operationId: "previewPurge",
  tags,
  summary: "What the purge would delete by the end of a date, and what holds keep, without deleting",
  request: { query: PreviewQuery },
  responses: { 200: jsonResponse(PurgePreviewSchema, "The preview") },
});

export const listPurgeLedger = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention/ledger",
  operationId: "listPurgeLedger",
  tags,
  summary: "The purge runs, newest first: mailboxes, items and bytes purged, and what holds blocked",
  request: { query: PageQuery },
  responses: { 200: jsonResponse(LedgerCollection, "A page of runs") },
});

export const getPurgeLedgerEntry = defineRoute(can.readRetention, {
  method: "get",
  path: "/api/retention/ledger/{id}",
  operationId: "getPurgeLedgerEntry",
  tags,
  summary: "One purge run",
  request: { params: IdParam },
  responses: { 200: jsonResponse(LedgerEntrySchema, "The run") },
});

export const runPurge = defineRoute(can.manageRetention, {
  method: "post",
  path: "/api/retention/run",
  operationId: "runPurge",
  tags,
  summary: "Run the purge now (as the daily run would), or a dry run that deletes nothing",
  request: { body: jsonBody(RunPurgeSchema) },
  responses: { 202: jsonResponse(LedgerEntrySchema, "The run, started; its ledger entry follows its progress") },
});

export const previewLicensingChange = defineRoute(can.readLicensing, {
  method: "post",
  path: "/api/licensing/preview",
  operationId: "previewLicensingChange",
  tags: ["Licensing"],
  summary: "What a licensing change would do, without doing it",
  description:
    "A user's or a group's assignLicense, a membership change, or a new membership rule: who gains and loses which SKUs and plans, the seats after, who would go to an error state, and whose mailbox would start its 30-day countdown. Decided by the rules the change itself uses; a change over more than 10,000 users is examined in part (complete: false).",
  request: { body: jsonBody(LicensingPreviewRequest) },
  responses: { 200: jsonResponse(LicensingPreviewSchema, "The preview") },
});
