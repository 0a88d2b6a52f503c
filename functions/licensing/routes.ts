import { defineRoute, GraphCollection, GraphObject, jsonBody, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { UserRefParam } from "../directory/schemas.ts";
import { AssignLicenseSchema } from "./schemas.ts";

export const assignUserLicense = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/v1.0/users/{id}/assignLicense",
  tags: ["Licensing"],
  summary: "Add and remove a user's direct licenses in one atomic change",
  request: { params: UserRefParam, body: jsonBody(AssignLicenseSchema) },
  responses: { 200: jsonResponse(GraphObject, "The user") },
});

export const reprocessUserLicense = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/v1.0/users/{id}/reprocessLicenseAssignment",
  tags: ["Licensing"],
  summary: "Weigh every license source of the user again (clears errors that no longer apply)",
  request: { params: UserRefParam },
  responses: { 200: jsonResponse(GraphObject, "The user") },
});

export const listLicenseDetails = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users/{id}/licenseDetails",
  tags: ["Licensing"],
  summary: "The user's licenses (direct and inherited), plan by plan",
  request: { params: UserRefParam, query: z.object({ $select: z.string().optional() }) },
  responses: {
    200: jsonResponse(GraphCollection, "License details"),
  },
});
