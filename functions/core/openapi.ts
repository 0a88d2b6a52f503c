/** Route contracts: defineRoute (access, errors), the shapes every route shares, and zod validation as Graph's 400. */
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { type Access, requireRole } from "./authorize.ts";
import type { AppEnv } from "./context.ts";
import { invalid } from "./errors.ts";
import { checkQueryOptions } from "./odata.ts";

export const GraphErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ code: z.string(), message: z.string(), target: z.string().optional() })).optional(),
      innerError: z.object({ date: z.string(), "request-id": z.string(), "client-request-id": z.string() }),
    }),
  })
  .openapi("GraphError");

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: GraphErrorSchema } },
});

/** Declared on every route: the error answers any call may get. */
export const standardErrors = {
  400: errorResponse("Request_BadRequest: the request or one of its fields is invalid"),
  401: errorResponse("InvalidAuthenticationToken: no or unknown API key"),
  403: errorResponse("Authorization_RequestDenied: the key's role may not do this"),
  404: errorResponse("Request_ResourceNotFound: no such object in this tenant"),
  409: errorResponse("Directory_ConcurrencyViolation: a concurrent change won; retry"),
  413: errorResponse("Request_EntityTooLarge: the body is over the size limit"),
  429: errorResponse("TooManyRequests: retry after the Retry-After header"),
};

/** An OData collection of `item`: `{ "@odata.context"?, "@odata.count"?, "@odata.nextLink"?, value }`. */
export const collectionOf = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      "@odata.context": z.string().optional(),
      "@odata.count": z.number().int().optional(),
      "@odata.nextLink": z.string().optional(),
      value: z.array(item),
    })
    .strict()
    .openapi(name);

/** A single Graph entity as answered on its own: the entity with its `@odata.context`. */
export const entityOf = <T extends z.ZodObject>(entity: T, name: string) =>
  entity.extend({ "@odata.context": z.string().optional() }).openapi(name);

export const jsonBody = <T extends z.ZodType>(schema: T, description = "JSON body") => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A text/plain answer (Graph's raw values, e.g. GET /users/$count). */
export const textResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "text/plain": { schema } },
});

/** Who may call each route, by "METHOD /path" as declared: data the security matrix test reads back. */
export const routeAccess = new Map<string, Access>();

const allowOnly =
  (access: Access): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    requireRole(c.get("ctx"), access);
    await next();
  };

/** Refuses the `$` query options a route's query schema does not list (checkQueryOptions), before validation. */
const serveOnly =
  (served: ReadonlySet<string>): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    checkQueryOptions(new URL(c.req.url).searchParams, served);
    await next();
  };

/** The `$` options a route's query schema lists: the system query options it serves. */
const servedOptions = (query: unknown): ReadonlySet<string> | null =>
  query instanceof z.ZodObject ? new Set(Object.keys(query.shape).filter((k) => k.startsWith("$"))) : null;

/**
 * A route contract: method, path, who may call it (enforced here before the handler, documented, and recorded in
 * routeAccess), the system query options it serves (those its query schema lists; any other is refused) and its
 * standard error answers.
 */
export function defineRoute<const R extends Omit<RouteConfig, "middleware"> & { operationId: string }>(
  access: Access,
  route: R,
) {
  routeAccess.set(`${route.method.toUpperCase()} ${route.path}`, access);
  const served = servedOptions(route.request?.query);
  const who = `${access.operator ? "Operator tenant only. " : ""}Roles: ${access.roles.join(", ")}.`;
  return createRoute({
    ...route,
    description: `${route.description ?? route.summary ?? ""}\n\n${who}`.trim(),
    security: [{ apiKey: [] }],
    middleware: served ? ([allowOnly(access), serveOnly(served)] as const) : ([allowOnly(access)] as const),
    responses: { ...standardErrors, ...route.responses },
  });
}

/** zod failures become Graph's 400 listing each offending field. */
export const validationHook = (result: { success: boolean; error?: z.ZodError; target?: string }) => {
  if (result.success || !result.error) return;
  const details = result.error.issues.map((issue) => ({
    code: "InvalidValue",
    target: issue.path.join(".") || (result.target ?? "body"),
    message: issue.message,
  }));
  const fields = details.map((d) => `${d.target}: ${d.message}`).join("; ");
  throw invalid(`Invalid request: ${fields}`, {
    fields: details.map((d) => ({ field: d.target, message: d.message })),
  });
};

export const newRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
export { z };
