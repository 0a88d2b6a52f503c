import {
  consistencyHeaderSchema,
  countQuerySchema,
  entityQuerySchema,
  listQuerySchema,
  pageQuerySchema,
  RawCountSchema,
} from "../core/odata.ts";
import { defineRoute, jsonBody, jsonResponse, textResponse } from "../core/openapi.ts";
import { can } from "../core/roles.ts";
import {
  AddMemberSchema,
  CreateGroupSchema,
  DirectoryGroupCollection,
  GroupCollection,
  GroupEntity,
  GroupIdParam,
  MemberParams,
  UpdateGroupSchema,
} from "./group-schemas.ts";
import { DirectoryUserCollection, UserRefParam } from "./schemas.ts";

export const listGroups = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/groups",
  operationId: "listGroups",
  tags: ["Groups"],
  summary: "List groups",
  description:
    "Paging, $select (incl. assignedLicenses, licenseProcessingState), $filter incl. hasMembersWithLicenseErrors eq true.",
  request: { query: listQuerySchema, headers: consistencyHeaderSchema },
  responses: { 200: jsonResponse(GroupCollection, "A page of groups") },
});

// Declared before GET /v1.0/groups/{id}, so that `$count` is never taken for a group's id.
export const countGroups = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/groups/$count",
  operationId: "countGroups",
  tags: ["Groups"],
  summary: "Count groups (needs ConsistencyLevel: eventual)",
  description: "The number of groups matching $filter and $search, as a bare integer in text/plain.",
  request: { query: countQuerySchema, headers: consistencyHeaderSchema },
  responses: { 200: textResponse(RawCountSchema, "The number of matching groups") },
});

export const getGroup = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/groups/{id}",
  operationId: "getGroup",
  tags: ["Groups"],
  summary: "Get a group",
  request: { params: GroupIdParam, query: entityQuerySchema },
  responses: { 200: jsonResponse(GroupEntity, "The group") },
});

export const createGroup = defineRoute(can.manageUsers, {
  method: "post",
  path: "/v1.0/groups",
  operationId: "createGroup",
  tags: ["Groups"],
  summary: "Create a group (static, or dynamic with a membershipRule)",
  request: { body: jsonBody(CreateGroupSchema) },
  responses: { 201: jsonResponse(GroupEntity, "The new group") },
});

export const updateGroup = defineRoute(can.manageUsers, {
  method: "patch",
  path: "/v1.0/groups/{id}",
  operationId: "updateGroup",
  tags: ["Groups"],
  summary:
    "Update a group; members@odata.bind adds up to 20 members; a new membershipRule is re-evaluated via the queue",
  request: { params: GroupIdParam, body: jsonBody(UpdateGroupSchema) },
  responses: { 204: { description: "Updated" } },
});

export const deleteGroup = defineRoute(can.manageUsers, {
  method: "delete",
  path: "/v1.0/groups/{id}",
  operationId: "deleteGroup",
  tags: ["Groups"],
  summary: "Delete a group (refused while it holds licenses)",
  request: { params: GroupIdParam },
  responses: { 204: { description: "Deleted" } },
});

export const listMembers = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/groups/{id}/members",
  operationId: "listGroupMembers",
  tags: ["Groups"],
  summary: "The group's direct members",
  request: { params: GroupIdParam, query: pageQuerySchema },
  responses: { 200: jsonResponse(DirectoryUserCollection, "A page of members") },
});

export const addMember = defineRoute(can.manageUsers, {
  method: "post",
  path: "/v1.0/groups/{id}/members/$ref",
  operationId: "addGroupMember",
  tags: ["Groups"],
  summary: "Add a member",
  request: { params: GroupIdParam, body: jsonBody(AddMemberSchema) },
  responses: { 204: { description: "Added" } },
});

export const removeMember = defineRoute(can.manageUsers, {
  method: "delete",
  path: "/v1.0/groups/{id}/members/{userId}/$ref",
  operationId: "removeGroupMember",
  tags: ["Groups"],
  summary: "Remove a member",
  request: { params: MemberParams },
  responses: { 204: { description: "Removed" } },
});

export const memberOf = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users/{id}/memberOf",
  operationId: "listUserMemberOf",
  tags: ["Groups"],
  summary: "Groups the user is a direct member of",
  request: { params: UserRefParam, query: pageQuerySchema },
  responses: { 200: jsonResponse(DirectoryGroupCollection, "Groups") },
});
