import { env } from "cloudflare:workers";
import csv from "../../db/catalog/product-names-and-service-plan-identifiers.csv?raw";
import { importCatalog } from "../../functions/catalog/actions.ts";
import { makeCtx } from "../../functions/core/context.ts";

/** The shipped catalogue, imported once per test database (the import is idempotent anyway). */
export async function ensureCatalog() {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM skus").first<{ n: number }>();
  if ((row?.n ?? 0) > 0) return;
  await importCatalog({ ctx: makeCtx(env, "", { kind: "system", name: "test setup" }), input: { csv } });
}

export const catalogCsv = csv;
