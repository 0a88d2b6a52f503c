import { pageQuerySchema } from "../core/odata.ts";
import { defineRoute, jsonBody, jsonResponse, z } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import { GroupEntity, GroupSchema } from "../directory/group-schemas.ts";
import { DirectoryUserCollection, UserEntity, UserRefParam } from "../directory/schemas.ts";
import { AssignLicenseSchema, LicenseDetailsCollection } from "./schemas.ts";

export const assignUserLicense = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/v1.0/users/{id}/assignLicense",
  operationId: "assignUserLicense",
  tags: ["Licensing"],
  summary: "Add and remove a user's direct licenses in one atomic change",
  request: { params: UserRefParam, body: jsonBody(AssignLicenseSchema) },
  responses: { 200: jsonResponse(UserEntity, "The user") },
});

export const reprocessUserLicense = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/v1.0/users/{id}/reprocessLicenseAssignment",
  operationId: "reprocessUserLicenseAssignment",
  tags: ["Licensing"],
  summary: "Weigh every license source of the user again (clears errors that no longer apply)",
  request: { params: UserRefParam },
  responses: { 200: jsonResponse(UserEntity, "The user") },
});

export const listLicenseDetails = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users/{id}/licenseDetails",
  operationId: "listUserLicenseDetails",
  tags: ["Licensing"],
  summary: "The user's licenses (direct and inherited), plan by plan",
  request: { params: UserRefParam, query: z.object({ $select: z.string().optional() }) },
  responses: {
    200: jsonResponse(LicenseDetailsCollection, "License details"),
  },
});

const GroupIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const assignGroupLicense = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/v1.0/groups/{id}/assignLicense",
  operationId: "assignGroupLicense",
  tags: ["Licensing"],
  summary: "Set the licenses a security group hands to its members; applied to members through the queue (202)",
  request: { params: GroupIdParam, body: jsonBody(AssignLicenseSchema) },
  responses: { 202: jsonResponse(GroupEntity, "The group, licenseProcessingState QueuedForProcessing") },
});

export const reprocessGroup = defineRoute(can.assignLicenses, {
  method: "post",
  path: "/api/groups/{id}/reprocess",
  operationId: "reprocessGroupLicenses",
  tags: ["Licensing"],
  summary: "Re-apply the group's licenses to every member (group-wide reprocess)",
  request: { params: GroupIdParam },
  responses: { 202: jsonResponse(GroupSchema, "The group, licenseProcessingState QueuedForProcessing") },
});

export const membersWithLicenseErrors = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/groups/{id}/membersWithLicenseErrors",
  operationId: "listGroupMembersWithLicenseErrors",
  tags: ["Licensing"],
  summary: "Members for whom this group's licenses are in an error state",
  request: {
    params: GroupIdParam,
    query: pageQuerySchema,
  },
  responses: { 200: jsonResponse(DirectoryUserCollection, "Users with license errors from this group") },
});
