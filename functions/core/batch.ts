import { z } from "@hono/zod-openapi";
import { badRequest } from "./errors.ts";

/** Graph JSON batching: at most 20 requests, each optionally depending on others in the same batch. */
export const BatchRequestSchema = z
  .object({
    requests: z
      .array(
        z
          .object({
            id: z.string().min(1).max(64),
            method: z.enum(["GET", "POST", "PATCH", "PUT", "DELETE", "get", "post", "patch", "put", "delete"]),
            url: z.string().min(1).max(2048),
            headers: z.record(z.string(), z.string()).optional(),
            body: z.unknown().optional(),
            dependsOn: z.array(z.string()).max(20).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(20, "JSON batch requests are currently limited to 20 individual requests."),
  })
  .strict()
  .openapi("BatchRequest");
export type BatchRequest = z.infer<typeof BatchRequestSchema>;
export type BatchItem = BatchRequest["requests"][number];

/** Orders the requests so each runs after the ones it depends on; refuses unknown ids and cycles. */
export function orderBatch(requests: BatchItem[]): BatchItem[] {
  const byId = new Map<string, BatchItem>();
  for (const r of requests) {
    if (byId.has(r.id)) throw badRequest(`Batch request id '${r.id}' is used more than once.`);
    byId.set(r.id, r);
  }
  const ordered: BatchItem[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (r: BatchItem) => {
    if (state.get(r.id) === "done") return;
    if (state.get(r.id) === "visiting") throw badRequest(`Batch request '${r.id}' has a circular dependsOn.`);
    state.set(r.id, "visiting");
    for (const dep of r.dependsOn ?? []) {
      const target = byId.get(dep);
      if (!target) throw badRequest(`Batch request '${r.id}' depends on unknown request '${dep}'.`);
      visit(target);
    }
    state.set(r.id, "done");
    ordered.push(r);
  };
  for (const r of requests) visit(r);
  return ordered;
}

/** Inner URLs are relative to the version root: "/users/x" or "users/x"; absolute URLs are refused. */
export function innerUrl(origin: string, url: string): string {
  if (/^[a-z]+:\/\//i.test(url)) throw badRequest(`Batch request URLs must be relative: '${url}'.`);
  const path = url.startsWith("/") ? url : `/${url}`;
  return `${origin}${path.startsWith("/v1.0/") ? path : `/v1.0${path}`}`;
}
