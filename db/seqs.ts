/**
 * SQL between the API's ids and the compact seqs the per-member tables are keyed by (users.seq, groups.seq,
 * seat_pools.seq; migration 0009). Every argument is an SQL expression. A license source's seq is 0 for a direct
 * assignment, or its group's seq.
 */
export const DIRECT_SOURCE_SEQ = 0;
/** The source id a direct assignment is known by outside storage (the licensing rules' DIRECT). */
export const DIRECT_SOURCE_ID = "direct";

/** The SKU id of a pool seq (a rowid lookup). */
export const skuOfPool = (poolSeq: string) => `(SELECT sku_id FROM seat_pools WHERE seq = ${poolSeq})`;

/** `direct` or the group id of a source seq (a rowid lookup). */
export const sourceOfSeq = (sourceSeq: string) =>
  `CASE ${sourceSeq} WHEN ${DIRECT_SOURCE_SEQ} THEN '${DIRECT_SOURCE_ID}' ELSE (SELECT id FROM groups WHERE seq = ${sourceSeq}) END`;

/** The seq of a tenant's pool of a SKU. */
export const poolSeqOf = (tenant: string, skuId: string) =>
  `(SELECT seq FROM seat_pools WHERE tenant_id = ${tenant} AND sku_id = ${skuId})`;

/** The seq of a source: 0 for `direct`, else the tenant's group's. */
export const sourceSeqOf = (tenant: string, sourceId: string) =>
  `CASE ${sourceId} WHEN '${DIRECT_SOURCE_ID}' THEN ${DIRECT_SOURCE_SEQ} ELSE (SELECT seq FROM groups WHERE tenant_id = ${tenant} AND id = ${sourceId}) END`;
