import { text } from "drizzle-orm/sqlite-core";

// Timestamps are ISO-8601 strings: Graph speaks them on the wire and SQLite orders them correctly as text.
export const isoTime = (name: string) => text(name);

// GUID-valued columns (Graph object ids, skuIds, servicePlanIds) are stored as lower-case text.
export const guid = (name: string) => text(name);

// JSON arrays of GUIDs (disabledPlans and friends) are stored as compact JSON text, read with json_each in SQL.
export const guidList = (name: string) => text(name).notNull().default("[]");
