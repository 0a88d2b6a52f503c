import Papa from "papaparse";
import { isGuid, normalizeGuid } from "../core/ids.ts";

export type CatalogProduct = {
  skuId: string;
  skuPartNumber: string;
  displayName: string;
  servicePlans: { id: string; name: string; friendlyName: string }[];
};

export type ParsedCatalog = { products: CatalogProduct[]; rows: number; problems: string[] };

const columns = [
  "Product_Display_Name",
  "String_Id",
  "GUID",
  "Service_Plan_Name",
  "Service_Plan_Id",
  "Service_Plans_Included_Friendly_Names",
] as const;

/** Parses Microsoft's "Product names and service plan identifiers for licensing" CSV (UTF-8, optional BOM). */
export function parseCatalogCsv(text: string): ParsedCatalog {
  const parsed = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ""), {
    header: true,
    skipEmptyLines: true,
    transformHeader: (h) => h.trim(),
  });
  const header = parsed.meta.fields ?? [];
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    return { products: [], rows: 0, problems: [`Missing column(s): ${missing.join(", ")}.`] };
  }
  const problems: string[] = [];
  const products = new Map<string, CatalogProduct>();
  parsed.data.forEach((row, index) => {
    const skuId = (row.GUID ?? "").trim();
    const planId = (row.Service_Plan_Id ?? "").trim();
    if (!isGuid(skuId) || !isGuid(planId)) {
      problems.push(`Row ${index + 2}: GUID and Service_Plan_Id must be GUIDs.`);
      return;
    }
    const key = normalizeGuid(skuId);
    let product = products.get(key);
    if (!product) {
      product = {
        skuId: key,
        skuPartNumber: (row.String_Id ?? "").trim(),
        displayName: (row.Product_Display_Name ?? "").trim(),
        servicePlans: [],
      };
      products.set(key, product);
    }
    const id = normalizeGuid(planId);
    if (!product.servicePlans.some((p) => p.id === id)) {
      product.servicePlans.push({
        id,
        name: (row.Service_Plan_Name ?? "").trim(),
        friendlyName: (row.Service_Plans_Included_Friendly_Names ?? "").trim(),
      });
    }
  });
  return { products: [...products.values()], rows: parsed.data.length, problems };
}
