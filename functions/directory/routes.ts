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
  CreateUserSchema,
  DeletedItemParam,
  DeletedUserCollection,
  DeletedUserEntity,
  RestoreUserSchema,
  UpdateUserSchema,
  UserCollection,
  UserEntity,
  UserRefParam,
} from "./schemas.ts";

export const listUsers = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users",
  operationId: "listUsers",
  tags: ["Users"],
  summary: "List users",
  description:
    "OData paging ($top, $skiptoken), $select, $filter (license and attribute filters), $count. $skip and any other option are refused.",
  request: { query: listQuerySchema, headers: consistencyHeaderSchema },
  responses: { 200: jsonResponse(UserCollection, "A page of users") },
});

// Declared before GET /v1.0/users/{id}, so that `$count` is never taken for a user's id.
export const countUsers = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users/$count",
  operationId: "countUsers",
  tags: ["Users"],
  summary: "Count users (needs ConsistencyLevel: eventual)",
  description: "The number of users matching $filter and $search, as a bare integer in text/plain.",
  request: { query: countQuerySchema, headers: consistencyHeaderSchema },
  responses: { 200: textResponse(RawCountSchema, "The number of matching users") },
});

export const getUser = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/users/{id}",
  operationId: "getUser",
  tags: ["Users"],
  summary: "Get a user by id or userPrincipalName",
  request: { params: UserRefParam, query: entityQuerySchema },
  responses: { 200: jsonResponse(UserEntity, "The user") },
});

export const createUser = defineRoute(can.manageUsers, {
  method: "post",
  path: "/v1.0/users",
  operationId: "createUser",
  tags: ["Users"],
  summary: "Create a user",
  request: { body: jsonBody(CreateUserSchema) },
  responses: { 201: jsonResponse(UserEntity, "The new user") },
});

export const updateUser = defineRoute(can.manageUsers, {
  method: "patch",
  path: "/v1.0/users/{id}",
  operationId: "updateUser",
  tags: ["Users"],
  summary: "Update a user",
  request: { params: UserRefParam, body: jsonBody(UpdateUserSchema) },
  responses: { 204: { description: "Updated" } },
});

export const deleteUser = defineRoute(can.manageUsers, {
  method: "delete",
  path: "/v1.0/users/{id}",
  operationId: "deleteUser",
  tags: ["Users"],
  summary: "Delete a user (soft delete; their licenses are freed at once)",
  request: { params: UserRefParam },
  responses: { 204: { description: "Deleted" } },
});

// ---- the recycle bin (Graph's directory/deletedItems) ----------------------------------------------------------

// Declared before deletedItems/{id}, so the cast segment is the list, never an id.
export const listDeletedUsers = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/directory/deletedItems/microsoft.graph.user",
  operationId: "listDeletedUsers",
  tags: ["Users"],
  summary: "Users deleted in the last 30 days (restorable), with deletedDateTime",
  request: {
    query: pageQuerySchema,
  },
  responses: { 200: jsonResponse(DeletedUserCollection, "A page of deleted users") },
});

export const getDeletedItem = defineRoute(can.readDirectory, {
  method: "get",
  path: "/v1.0/directory/deletedItems/{id}",
  operationId: "getDeletedItem",
  tags: ["Users"],
  summary: "A deleted user",
  request: { params: DeletedItemParam },
  responses: { 200: jsonResponse(DeletedUserEntity, "The deleted user") },
});

export const restoreDeletedItem = defineRoute(can.manageUsers, {
  method: "post",
  path: "/v1.0/directory/deletedItems/{id}/restore",
  operationId: "restoreDeletedItem",
  tags: ["Users"],
  summary: "Restore a deleted user: licenses (where seats allow), static groups, mailbox and OneDrive come back",
  description:
    "A license that finds no seat comes back in its error state (CountViolation). newUserPrincipalName restores the user under another name.",
  request: {
    params: DeletedItemParam,
    body: { required: false, content: { "application/json": { schema: RestoreUserSchema } } },
  },
  responses: { 200: jsonResponse(DeletedUserEntity, "The restored user") },
});

export const permanentlyDeleteItem = defineRoute(can.manageUsers, {
  method: "delete",
  path: "/v1.0/directory/deletedItems/{id}",
  operationId: "permanentlyDeleteItem",
  tags: ["Users"],
  summary: "Delete a deleted user permanently (its userPrincipalName is free again)",
  request: { params: DeletedItemParam },
  responses: { 204: { description: "Deleted permanently" } },
});
