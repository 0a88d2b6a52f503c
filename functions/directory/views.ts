/** The users' presenters: Graph's user resource, whole or projected onto $select. */
import { project } from "../core/odata.ts";
import { graphTime } from "../core/time.ts";
import type { User } from "./schemas.ts";
import type { UserRow } from "./store.ts";
import { keyOf, licensingUserFields, userDefaultSelect, userFields } from "./user-fields.ts";

/** What licensing supplies of a user (read only when $select asks for it). */
export type UserLicensingProperties = {
  assignedLicenses: unknown[];
  assignedPlans: unknown[];
  licenseAssignmentStates: unknown[];
};

/** Whether these properties need the user's licensing. */
export const needsLicensing = (fields: readonly string[] | undefined) =>
  (fields ?? userDefaultSelect).some((f) => licensingUserFields.includes(f));

/** Graph's user resource, whole; the stored properties from the row, the rest as Graph shows them when unset. */
export function graphUser(user: UserRow, licensing?: UserLicensingProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of userFields) {
    if (field.kind === "licensing") {
      if (licensing) out[field.graph] = licensing[field.graph as keyof UserLicensingProperties];
      continue;
    }
    if (!("column" in field)) {
      out[field.graph] = field.kind === "stringList" ? [] : null;
      continue;
    }
    const value = user[keyOf(field) as keyof UserRow] ?? null;
    out[field.graph] = field.kind === "datetime" && typeof value === "string" ? graphTime(value) : value;
  }
  return out;
}

/** Users for the wire: each projected onto $select (or Graph's default set), with their licensing when given. */
export function presentUsers(
  users: readonly UserRow[],
  select: readonly string[] | undefined,
  licensingOf?: (userId: string) => UserLicensingProperties | undefined,
) {
  const fields = select ?? userDefaultSelect;
  // The projection holds the properties asked for, as graphUser shaped them: the contract's User, partial.
  return users.map((user) => project(graphUser(user, licensingOf?.(user.id)), fields) as User);
}
