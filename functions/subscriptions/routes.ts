/** The subscriptions capability's route contracts. */
import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { CreateSubscriptionSchema, IdParam, UpdateSubscriptionSchema } from "./schemas.ts";

export const listSubscribedSkus = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/subscribedSkus",
  tags: ["Subscriptions"],
  summary: "The tenant's license pools, one per SKU, aggregating all its subscriptions",
  responses: { 200: jsonResponse(GraphCollection, "subscribedSku collection") },
});

export const getSubscribedSku = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/subscribedSkus/{id}",
  tags: ["Subscriptions"],
  summary: "One license pool ({tenantId}_{skuId})",
  request: { params: IdParam },
  responses: { 200: jsonResponse(GraphObject, "subscribedSku") },
});

export const listCompanySubscriptions = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/directory/subscriptions",
  tags: ["Subscriptions"],
  summary: "Commercial subscriptions, one row each (companySubscription)",
  responses: { 200: jsonResponse(GraphCollection, "companySubscription collection") },
});

export const getCompanySubscription = defineRoute(can.readLicensing, {
  method: "get",
  path: "/v1.0/directory/subscriptions/{id}",
  tags: ["Subscriptions"],
  summary: "One commercial subscription",
  request: { params: IdParam },
  responses: { 200: jsonResponse(GraphObject, "companySubscription") },
});

export const listSubscriptions = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/subscriptions",
  tags: ["Subscriptions"],
  summary: "List subscriptions (companySubscription shape)",
  responses: { 200: jsonResponse(GraphCollection, "Subscriptions") },
});

export const getSubscription = defineRoute(can.readLicensing, {
  method: "get",
  path: "/api/subscriptions/{id}",
  tags: ["Subscriptions"],
  summary: "Get a subscription",
  request: { params: IdParam },
  responses: { 200: jsonResponse(GraphObject, "The subscription") },
});

export const createSubscription = defineRoute(can.manageSubscriptions, {
  method: "post",
  path: "/api/subscriptions",
  tags: ["Subscriptions"],
  summary: "Buy a subscription (seats for a SKU)",
  request: { body: jsonBody(CreateSubscriptionSchema) },
  responses: { 201: jsonResponse(GraphObject, "The new subscription") },
});

export const updateSubscription = defineRoute(can.manageSubscriptions, {
  method: "patch",
  path: "/api/subscriptions/{id}",
  tags: ["Subscriptions"],
  summary: "Change seats or move through the lifecycle (Enabled → Warning → Suspended → LockedOut/Deleted)",
  request: { params: IdParam, body: jsonBody(UpdateSubscriptionSchema) },
  responses: { 200: jsonResponse(GraphObject, "The subscription") },
});

export const takeOverSubscription = defineRoute(can.manageSubscriptions, {
  method: "post",
  path: "/api/subscriptions/{id}/takeOver",
  tags: ["Subscriptions"],
  summary: "Take over a self-service purchase so its seats join the admin's pool",
  request: { params: IdParam },
  responses: { 200: jsonResponse(GraphObject, "The subscription") },
});
