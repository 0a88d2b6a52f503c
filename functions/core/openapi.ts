/** Route contracts: defineRoute (access, errors), the shapes every route shares, and zod validation as Graph's 400. */
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { type Access, requireRole } from "./authorize.ts";
import type { AppEnv } from "./context.ts";
import { invalid } from "./errors.ts";
import { checkQueryOptions } from "./odata.ts";
import { graphText } from "./text.ts";

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

/** Declared on every route that takes a JSON body: a body sent as anything else. */
const unsupportedMediaType = {
  415: errorResponse("Request_BadRequest (415): the body is not application/json"),
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

/** The Graph resource a route's body describes, for the text rules' message (Graph names property and resource). */
const resourceOfTag: Record<string, string> = {
  Users: "User",
  Groups: "Group",
  Licensing: "AssignedLicense",
  Subscriptions: "Subscription",
  Tenancy: "Organization",
  Catalogue: "ServicePlanRule",
  Batch: "BatchRequest",
};

/** Free text where admins paste paragraphs: tab and line breaks are allowed there, nowhere else. */
const MULTILINE = ["description"];

/**
 * Every string a JSON body carries must survive storage: well-formed UTF-16, no control characters (names, UPNs and
 * ids none at all; descriptions no others than tab and line breaks). Applied here, once for every route, so no body
 * escapes it; a refusal is Graph's 400 naming the property.
 */
function withTextRules(request: RouteConfig["request"], tag: string | undefined): RouteConfig["request"] {
  const json = request?.body?.content?.["application/json"];
  if (!request || !json || !("schema" in json) || !(json.schema instanceof z.ZodType)) return request;
  const schema = graphText(json.schema, resourceOfTag[tag ?? ""] ?? tag ?? "Resource", { multiline: MULTILINE });
  return {
    ...request,
    body: { ...request.body, content: { ...request.body!.content, "application/json": { ...json, schema } } },
  };
}

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
  const who = access.credential
    ? "Authenticated with the installation's bootstrap token (the SEATFLOW_BOOTSTRAP_TOKEN secret), not an API key."
    : `${access.operator ? "Operator tenant only. " : ""}Roles: ${access.roles.join(", ")}.`;
  // The text rules swap a body's schema for a refined one of the same type, so the route keeps its static shape.
  const config: R = route.request ? { ...route, request: withTextRules(route.request, route.tags?.[0]) } : route;
  return createRoute({
    ...config,
    description: `${route.description ?? route.summary ?? ""}\n\n${who}`.trim(),
    security: [{ [access.credential ?? "apiKey"]: [] } as Record<string, string[]>],
    middleware: served ? ([allowOnly(access), serveOnly(served)] as const) : ([allowOnly(access)] as const),
    responses: {
      ...standardErrors,
      ...(route.request?.body?.content?.["application/json"] ? unsupportedMediaType : {}),
      ...route.responses,
    },
  });
}

/**
 * A check whose refusal is Graph's own sentence (e.g. "Property usageLocation is invalid."): the 400 then carries that
 * sentence as its message, as Graph's does, instead of seatflow's summary of every zod issue.
 */
export const graphCheck = <T extends z.ZodType>(schema: T, ok: (value: z.output<T>) => boolean, message: string) =>
  schema.superRefine((value, ctx) => {
    if (!ok(value)) ctx.addIssue({ code: "custom", message, params: { graphWords: true } });
  });

const inGraphWords = (issue: z.core.$ZodIssue) =>
  issue.code === "custom" && (issue.params as { graphWords?: boolean } | undefined)?.graphWords === true;

/** zod failures become Graph's 400 listing each offending field. */
export const validationHook = (result: { success: boolean; error?: z.ZodError; target?: string }) => {
  if (result.success || !result.error) return;
  const issues = result.error.issues;
  const details = issues.map((issue) => ({
    code: "InvalidValue",
    target: issue.path.join(".") || (result.target ?? "body"),
    message: issue.message,
  }));
  const fields = details.map((d) => `${d.target}: ${d.message}`).join("; ");
  const graphs = issues.find(inGraphWords);
  throw invalid(graphs ? graphs.message : `Invalid request: ${fields}`, {
    fields: details.map((d) => ({ field: d.target, message: d.message })),
  });
};

export const newRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
export { z };
