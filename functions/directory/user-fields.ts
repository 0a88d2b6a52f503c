/**
 * The one list of a user's properties: Graph's name, where it is stored, its type, and what each surface may do with
 * it (write it, filter on it, read it in a membership rule, map it to SCIM). Columns, writable fields, $select,
 * $filter, rule properties and the Graph presenter are all derived from it.
 */

export type UserFieldKind = "guid" | "string" | "boolean" | "datetime" | "stringList" | "licensing";

export type UserField = {
  /** Graph's property name. */
  graph: string;
  /** The UserRow key, where it differs from the Graph name (createdDateTime is stored as createdAt). */
  key?: string;
  /** The users column; absent for properties seatflow does not store (always null or [] on the wire). */
  column?: string;
  kind: UserFieldKind;
  /** Set on create and update (POST/PATCH /users). */
  writable?: true;
  /** Usable in $filter. */
  filter?: true;
  /**
   * How `$search` matches it: Graph tokenizes displayName into words; every other property it searches as $filter's
   * startsWith ("Any property that can be used in $filter can also be used inside $search", search-query-parameter).
   */
  search?: "words" | "prefix";
  /** Entra's name for it in a dynamic membership rule. */
  rule?: string;
  /** Its place among the properties GET /users returns without $select (Graph's default set). */
  byDefault?: number;
  /** The SCIM 2.0 attribute it maps to (core User schema or the enterprise extension). */
  scim?: string;
};

export const userFields = [
  { graph: "id", column: "id", kind: "guid", filter: true, rule: "user.objectId", byDefault: 11, scim: "id" },
  {
    graph: "userPrincipalName",
    column: "user_principal_name",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.userPrincipalName",
    byDefault: 10,
    scim: "userName",
  },
  {
    graph: "displayName",
    column: "display_name",
    kind: "string",
    writable: true,
    filter: true,
    search: "words",
    rule: "user.displayName",
    byDefault: 2,
    scim: "displayName",
  },
  {
    graph: "mailNickname",
    column: "mail_nickname",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.mailNickname",
  },
  {
    graph: "givenName",
    column: "given_name",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.givenName",
    byDefault: 3,
    scim: "name.givenName",
  },
  {
    graph: "surname",
    column: "surname",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.surname",
    byDefault: 9,
    scim: "name.familyName",
  },
  {
    graph: "mail",
    column: "mail",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.mail",
    byDefault: 5,
    scim: 'emails[type eq "work"].value',
  },
  {
    graph: "jobTitle",
    column: "job_title",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.jobTitle",
    byDefault: 4,
    scim: "title",
  },
  {
    graph: "department",
    column: "department",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.department",
    scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
  },
  {
    graph: "companyName",
    column: "company_name",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.companyName",
    scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization",
  },
  {
    graph: "country",
    column: "country",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.country",
    scim: 'addresses[type eq "work"].country',
  },
  {
    graph: "employeeId",
    column: "employee_id",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.employeeId",
    scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
  },
  {
    graph: "usageLocation",
    column: "usage_location",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.usageLocation",
  },
  {
    graph: "userType",
    column: "user_type",
    kind: "string",
    writable: true,
    filter: true,
    search: "prefix",
    rule: "user.userType",
    scim: "userType",
  },
  {
    graph: "accountEnabled",
    column: "account_enabled",
    kind: "boolean",
    writable: true,
    filter: true,
    rule: "user.accountEnabled",
    scim: "active",
  },
  { graph: "createdDateTime", key: "createdAt", column: "created_at", kind: "datetime", filter: true },
  { graph: "deletedDateTime", key: "deletedAt", column: "deleted_at", kind: "datetime" },
  { graph: "businessPhones", kind: "stringList", byDefault: 1 },
  { graph: "mobilePhone", kind: "string", byDefault: 6 },
  { graph: "officeLocation", kind: "string", byDefault: 7 },
  { graph: "preferredLanguage", kind: "string", byDefault: 8 },
  { graph: "assignedLicenses", kind: "licensing" },
  { graph: "assignedPlans", kind: "licensing" },
  { graph: "licenseAssignmentStates", kind: "licensing" },
] as const satisfies readonly UserField[];

type Fields = (typeof userFields)[number];

/** The UserRow key of a field. */
export const keyOf = (field: UserField): string => field.key ?? field.graph;

/** Properties a user can be given on create and update, by UserRow key. */
export type WritableUserField = Extract<Fields, { writable: true }>["graph"];

export const writableUserFields: readonly (UserField & { column: string })[] = userFields.filter(
  (f): f is Extract<Fields, { writable: true }> => "writable" in f,
);

/** What `$search` may name on a user, and how it matches each. */
export const userSearchable: readonly { name: string; match: "words" | "prefix" }[] = userFields
  .filter((f): f is Extract<Fields, { search: string }> => "search" in f)
  .map((f) => ({ name: f.graph, match: f.search }));

/** Every property $select may name, in this list's order. */
export const userSelectable: readonly string[] = userFields.map((f) => f.graph);

/** What GET /users returns without $select, in Graph's order. */
export const userDefaultSelect: readonly string[] = userFields
  .filter((f): f is Extract<Fields, { byDefault: number }> => "byDefault" in f)
  .sort((a, b) => a.byDefault - b.byDefault)
  .map((f) => f.graph);

/** The properties licensing supplies (read only when $select asks for them). */
export const licensingUserFields: readonly string[] = userFields
  .filter((f) => f.kind === "licensing")
  .map((f) => f.graph);

/**
 * Graph's navigation properties of a user (microsoft.graph.user): what `$expand` could name. seatflow expands none of
 * them; the list lets it tell a navigation property (valid OData it does not serve) from a name that is no property.
 */
export const userNavigation: readonly string[] = [
  "appRoleAssignments",
  "calendar",
  "contacts",
  "createdObjects",
  "directReports",
  "drive",
  "events",
  "extensions",
  "licenseDetails",
  "mailFolders",
  "manager",
  "memberOf",
  "messages",
  "oauth2PermissionGrants",
  "ownedDevices",
  "ownedObjects",
  "photo",
  "registeredDevices",
  "transitiveMemberOf",
];
