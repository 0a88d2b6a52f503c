/** The subscriptions capability's route contracts. */
import { defineRoute, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import {
  ChangedSubscriptionSchema,
  CompanySubscriptionCollection,
  CompanySubscriptionEntity,
  CompanySubscriptionSchema,
  CreateSubscriptionSchema,
  IdParam,
  OverallocationReport,
  SubscribedSkuCollection,
  SubscribedSkuEntity,
  TenantParam,
  TenantSubscriptionParams,
  UpdateSubscriptionSchema,
} from "./schemas.ts";

export const listSubscribedSkus = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/subscribedSkus",
  operationId: "listSubscribedSkus",
  tags: ["Subscriptions"],
  summary: "The tenant's license pools, one per SKU, aggregating all its subscriptions",
  responses: { 200: jsonResponse(SubscribedSkuCollection, "subscribedSku collection") },
});

export const getSubscribedSku = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/subscribedSkus/{id}",
  operationId: "getSubscribedSku",
  tags: ["Subscriptions"],
  summary: "One license pool ({tenantId}_{skuId})",
  request: { params: IdParam },
  responses: { 200: jsonResponse(SubscribedSkuEntity, "subscribedSku") },
});

export const listCompanySubscriptions = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/directory/subscriptions",
  operationId: "listCompanySubscriptions",
  tags: ["Subscriptions"],
  summary: "Commercial subscriptions, one row each (companySubscription)",
  responses: { 200: jsonResponse(CompanySubscriptionCollection, "companySubscription collection") },
});

export const getCompanySubscription = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/directory/subscriptions/{id}",
  operationId: "getCompanySubscription",
  tags: ["Subscriptions"],
  summary: "One commercial subscription",
  request: { params: IdParam },
  responses: { 200: jsonResponse(CompanySubscriptionEntity, "companySubscription") },
});

export const listSubscriptions = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/subscriptions",
  operationId: "listSubscriptions",
  tags: ["Subscriptions"],
  summary: "List subscriptions (companySubscription shape)",
  responses: { 200: jsonResponse(CompanySubscriptionCollection, "Subscriptions") },
});

export const getSubscription = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/subscriptions/{id}",
  operationId: "getSubscription",
  tags: ["Subscriptions"],
  summary: "Get a subscription",
  request: { params: IdParam },
  responses: { 200: jsonResponse(CompanySubscriptionSchema, "The subscription") },
});

export const createSubscription = defineRoute(can.manageSubscriptions, {
  method: "post",
  path: "/api/subscriptions",
  operationId: "createSubscription",
  tags: ["Subscriptions"],
  summary: "Buy a subscription (seats for a SKU)",
  request: { body: jsonBody(CreateSubscriptionSchema) },
  responses: { 201: jsonResponse(CompanySubscriptionSchema, "The new subscription") },
});

export const updateSubscription = defineRoute(can.manageSubscriptions, {
  method: "patch",
  path: "/api/subscriptions/{id}",
  operationId: "updateSubscription",
  tags: ["Subscriptions"],
  summary: "Change seats or move through the lifecycle (Enabled → Warning → Suspended → LockedOut/Deleted)",
  request: { params: IdParam, body: jsonBody(UpdateSubscriptionSchema) },
  responses: {
    200: jsonResponse(ChangedSubscriptionSchema, "The subscription (with a warning if seats are now over-allocated)"),
  },
});

export const takeOverSubscription = defineRoute(can.manageSubscriptions, {
  method: "post",
  path: "/api/subscriptions/{id}/takeOver",
  operationId: "takeOverSubscription",
  tags: ["Subscriptions"],
  summary: "Take over a self-service purchase so its seats join the admin's pool",
  request: { params: IdParam },
  responses: { 200: jsonResponse(CompanySubscriptionSchema, "The subscription") },
});

export const overallocationReport = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/reports/overallocation",
  operationId: "overallocationReport",
  tags: ["Subscriptions"],
  summary: "Pools with more seats in use than enabled now, and the alerts changes to seats raised (newest first)",
  responses: { 200: jsonResponse(OverallocationReport, "Over-allocation") },
});

export const sellSubscription = defineRoute(can.operate, {
  method: "post",
  path: "/api/tenants/{tenantId}/subscriptions",
  operationId: "sellSubscription",
  tags: ["Subscriptions"],
  summary: "The operator sells a tenant seats: a subscription in that tenant",
  request: { params: TenantParam, body: jsonBody(CreateSubscriptionSchema) },
  responses: { 201: jsonResponse(CompanySubscriptionSchema, "The new subscription") },
});

export const changeSoldSubscription = defineRoute(can.operate, {
  method: "patch",
  path: "/api/tenants/{tenantId}/subscriptions/{id}",
  operationId: "changeSoldSubscription",
  tags: ["Subscriptions"],
  summary: "The operator changes a tenant's seats or moves its subscription through the lifecycle",
  request: { params: TenantSubscriptionParams, body: jsonBody(UpdateSubscriptionSchema) },
  responses: { 200: jsonResponse(ChangedSubscriptionSchema, "The subscription") },
});
