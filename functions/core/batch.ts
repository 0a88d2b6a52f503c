/** Graph's JSON batching: its wire shapes, its route contract and the runner that plays the inner requests. */
import { z } from "@hono/zod-openapi";
import { DomainError, invalid } from "./errors.ts";
import { defineRoute, jsonBody, jsonResponse } from "./openapi.ts";
import { can } from "./roles.ts";

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

/** Each inner answer: its status, the headers that matter (content-type, location) and its body as that request's. */
export const BatchResponseSchema = z
  .object({
    responses: z.array(
      z
        .object({
          id: z.string(),
          status: z.number().int(),
          headers: z.record(z.string(), z.string()),
          body: z.unknown().openapi({ description: "The inner request's own answer (JSON, text or null)" }),
        })
        .strict(),
    ),
  })
  .strict()
  .openapi("BatchResponse");

export const batchRoute = defineRoute(can.readDirectory, {
  method: "post",
  path: "/v1.0/$batch",
  operationId: "batch",
  tags: ["Batch"],
  summary: "JSON batching: up to 20 requests in one call (dependsOn honoured)",
  request: { body: jsonBody(BatchRequestSchema) },
  responses: { 200: jsonResponse(BatchResponseSchema, "One response per request") },
});
export type BatchItem = BatchRequest["requests"][number];

/** Orders the requests so each runs after the ones it depends on; refuses unknown ids and cycles. */
export function orderBatch(requests: BatchItem[]): BatchItem[] {
  const byId = new Map<string, BatchItem>();
  for (const r of requests) {
    if (byId.has(r.id)) throw invalid(`Batch request id '${r.id}' is used more than once.`);
    byId.set(r.id, r);
  }
  const ordered: BatchItem[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (r: BatchItem) => {
    if (state.get(r.id) === "done") return;
    if (state.get(r.id) === "visiting") throw invalid(`Batch request '${r.id}' has a circular dependsOn.`);
    state.set(r.id, "visiting");
    for (const dep of r.dependsOn ?? []) {
      const target = byId.get(dep);
      if (!target) throw invalid(`Batch request '${r.id}' depends on unknown request '${dep}'.`);
      visit(target);
    }
    state.set(r.id, "done");
    ordered.push(r);
  };
  for (const r of requests) visit(r);
  return ordered;
}

/**
 * Inner URLs are relative to the version root ("/users/x" or "users/x"). They must stay under /v1.0 once
 * dot-segments are resolved, and a batch may not contain another batch (the limit of 20 would mean nothing).
 */
export function innerUrl(origin: string, url: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw invalid(`Batch request URLs must be relative: '${url}'.`);
  const path = url.startsWith("/") ? url : `/${url}`;
  const resolved = new URL(path.startsWith("/v1.0/") ? path : `/v1.0${path}`, origin);
  if (resolved.origin !== origin || !resolved.pathname.startsWith("/v1.0/")) {
    throw invalid(`Batch request URL '${url}' is outside the /v1.0 API.`);
  }
  if (/^\/v1\.0\/\$batch\b/i.test(resolved.pathname)) throw invalid("A $batch request cannot contain another $batch.");
  return resolved.toString();
}

export type BatchResponse = { id: string; status: number; headers: Record<string, string>; body: unknown };

/**
 * Runs the requests in dependency order through `send`. A request whose dependency failed is not run: it answers 424
 * with an error body naming the dependency (seatflow's words; Graph's body for it was not found), as every other
 * refusal in a batch carries one.
 */
export async function runBatch(
  requests: BatchItem[],
  origin: string,
  send: (request: Request) => Promise<Response>,
  authorization: string,
  refuse: (error: DomainError) => { status: number; body: unknown },
): Promise<BatchResponse[]> {
  const statuses = new Map<string, number>();
  const responses: BatchResponse[] = [];
  /** A request refused without being run answers with the transport's error body. */
  const answerRefusal = (id: string, error: DomainError) => {
    const refused = refuse(error);
    statuses.set(id, refused.status);
    responses.push({ id, status: refused.status, headers: { "content-type": "application/json" }, body: refused.body });
  };
  for (const item of orderBatch(requests)) {
    // orderBatch ran every dependency first, so each has a status.
    const failed = (item.dependsOn ?? []).find((dep) => (statuses.get(dep) ?? 500) >= 400);
    if (failed !== undefined) {
      answerRefusal(
        item.id,
        new DomainError(
          "failedDependency",
          `Request '${item.id}' was not run: request '${failed}' it depends on failed with status ${statuses.get(failed)}.`,
        ),
      );
      continue;
    }
    let url: string;
    try {
      url = innerUrl(origin, item.url);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      answerRefusal(item.id, error);
      continue;
    }
    const headers = new Headers(item.headers ?? {});
    // Inner requests act with the caller's own key, whatever headers they carry.
    headers.set("authorization", authorization);
    if (item.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
    const inner = await send(
      new Request(url, {
        method: item.method.toUpperCase(),
        headers,
        ...(item.body !== undefined
          ? { body: typeof item.body === "string" ? item.body : JSON.stringify(item.body) }
          : {}),
      }),
    );
    const contentType = inner.headers.get("content-type") ?? "";
    const text = await inner.text();
    statuses.set(item.id, inner.status);
    responses.push({
      id: item.id,
      status: inner.status,
      headers: Object.fromEntries([...inner.headers].filter(([k]) => k === "content-type" || k === "location")),
      body: text === "" ? null : contentType.includes("json") ? JSON.parse(text) : text,
    });
  }
  return responses;
}
