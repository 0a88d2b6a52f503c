const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const newId = (): string => crypto.randomUUID();

export const isGuid = (value: string): boolean => guidPattern.test(value);

/** GUIDs are stored lower-case so that comparisons in SQL and JS agree. */
export const normalizeGuid = (value: string): string => value.toLowerCase();
