import { isGuid } from "../core/ids.ts";

/** A user as stored (snake_case columns aliased to the domain's names). */
export type UserRow = {
  /** The user's compact key in the per-member tables (users.seq); never shown by the API. */
  seq: number;
  id: string;
  tenantId: string;
  userPrincipalName: string;
  displayName: string;
  mailNickname: string | null;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  usageLocation: string | null;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
  department: string | null;
  country: string | null;
  jobTitle: string | null;
  companyName: string | null;
  employeeId: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  licenseVersion: number;
};

export const userColumns = `u.seq, u.id, u.tenant_id AS tenantId, u.user_principal_name AS userPrincipalName, u.display_name AS displayName,
  u.mail_nickname AS mailNickname, u.given_name AS givenName, u.surname, u.mail, u.usage_location AS usageLocation,
  u.user_type AS userType, u.account_enabled AS accountEnabled, u.department, u.country, u.job_title AS jobTitle,
  u.company_name AS companyName, u.employee_id AS employeeId, u.created_at AS createdAt, u.updated_at AS updatedAt,
  u.deleted_at AS deletedAt, u.license_version AS licenseVersion`;

const userColumnList = userColumns.split(",").map((c) => c.trim());
/** The name a userColumns entry is read as. */
export const aliasOf = (column: string) =>
  column.includes(" AS ") ? column.split(" AS ")[1]! : column.slice("u.".length);

/** The userColumns entries for these UserRow keys (a page evaluating a membership rule reads what the rule reads). */
export const userColumnsFor = (keys: Iterable<string>): string[] => {
  const wanted = new Set(keys);
  return userColumnList.filter((c) => wanted.has(aliasOf(c)));
};

/** SQLite hands booleans back as 0/1. */
export const toUserRow = (raw: Record<string, unknown>): UserRow => ({
  ...(raw as UserRow),
  accountEnabled: raw.accountEnabled === 1 || raw.accountEnabled === true,
});

/** Users are addressed by id or userPrincipalName (case-insensitive), as in Graph. */
export function userByRefQuery(d1: D1Database, tenantId: string, ref: string): D1PreparedStatement {
  const byId = isGuid(ref);
  return d1
    .prepare(
      `SELECT ${userColumns} FROM users u WHERE u.tenant_id = ?1 AND u.deleted_at IS NULL AND ${byId ? "u.id = ?2" : "u.user_principal_name = ?2"}`,
    )
    .bind(tenantId, ref.toLowerCase());
}

export async function findUser(d1: D1Database, tenantId: string, ref: string): Promise<UserRow | undefined> {
  const row = await userByRefQuery(d1, tenantId, ref).first<Record<string, unknown>>();
  return row ? toUserRow(row) : undefined;
}

export const userWritableColumns = {
  userPrincipalName: "user_principal_name",
  displayName: "display_name",
  mailNickname: "mail_nickname",
  givenName: "given_name",
  surname: "surname",
  mail: "mail",
  usageLocation: "usage_location",
  userType: "user_type",
  accountEnabled: "account_enabled",
  department: "department",
  country: "country",
  jobTitle: "job_title",
  companyName: "company_name",
  employeeId: "employee_id",
} as const;
export type UserWritable = keyof typeof userWritableColumns;

const toDb = (value: unknown) => (typeof value === "boolean" ? (value ? 1 : 0) : (value ?? null));

export function insertUserStatement(d1: D1Database, user: UserRow): D1PreparedStatement {
  const fields = Object.keys(userWritableColumns) as UserWritable[];
  const columns = ["id", "tenant_id", ...fields.map((f) => userWritableColumns[f]), "created_at", "updated_at"];
  const values = [user.id, user.tenantId, ...fields.map((f) => toDb(user[f])), user.createdAt, user.updatedAt];
  return d1
    .prepare(
      `INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map((_, i) => `?${i + 1}`).join(", ")}) RETURNING seq`,
    )
    .bind(...values);
}

/**
 * Updates the given fields and bumps licenseVersion: licensing reads the user's attributes (usage location, type),
 * so a licensing write decided on the old ones must fail its guard and decide again.
 */
export function updateUserStatement(
  d1: D1Database,
  user: UserRow,
  changes: Partial<Record<UserWritable, unknown>>,
  now: string,
): D1PreparedStatement {
  const fields = Object.keys(changes) as UserWritable[];
  const sets = fields.map((f, i) => `${userWritableColumns[f]} = ?${i + 4}`);
  return d1
    .prepare(
      `UPDATE users SET updated_at = ?3, license_version = license_version + 1${sets.length ? `, ${sets.join(", ")}` : ""} WHERE tenant_id = ?1 AND id = ?2 AND deleted_at IS NULL`,
    )
    .bind(user.tenantId, user.id, now, ...fields.map((f) => toDb(changes[f])));
}
