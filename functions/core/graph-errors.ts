/**
 * Graph's rendering of failures, for /v1.0 and /api: the error envelope, the code and status each domain error kind
 * travels with, and the app-level handlers that answer with them (SCIM and the admin UI install their own).
 */
import type { Context, Hono, Env as HonoEnv } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type ErrorKind } from "./errors.ts";
import { graphTime } from "./time.ts";

/** Graph's directory error codes, with the HTTP status each one usually travels with. */
export const graphErrorStatus = {
  Request_BadRequest: 400,
  Request_UnsupportedQuery: 400,
  InvalidAuthenticationToken: 401,
  Authorization_RequestDenied: 403,
  Request_ResourceNotFound: 404,
  Directory_ConcurrencyViolation: 409,
  Request_EntityTooLarge: 413,
  TooManyRequests: 429,
  // JSON batching's 424 (the json-batching doc names the status only): no capture of the body's code was found
  // (docs/graph-errors-research.md); this is the code Graph test doubles use.
  FailedDependency: 424,
  Service_InternalServerError: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type GraphErrorCode = keyof typeof graphErrorStatus;

/** Each kind's Graph code; the status follows from the code unless statusOf says otherwise. */
const codeOf: Record<ErrorKind, GraphErrorCode> = {
  validation: "Request_BadRequest",
  unsupported: "Request_UnsupportedQuery",
  unauthenticated: "InvalidAuthenticationToken",
  forbidden: "Authorization_RequestDenied",
  notFound: "Request_ResourceNotFound",
  conflict: "Directory_ConcurrencyViolation",
  // Graph answers a taken userPrincipalName with a plain 400 (SCIM's renderer makes it a 409 uniqueness).
  uniqueness: "Request_BadRequest",
  licensingRefused: "Request_BadRequest",
  tooLarge: "Request_EntityTooLarge",
  // The directory answers a wrong method and a wrong media type in its generic code, Request_BadRequest
  // (docs/graph-errors-research.md: microsoftgraph/microsoft-graph-docs#119 for the method, with "Specified HTTP method
  // is not allowed for the request target."; microsoftgraph/msgraph-sdk-java#687 for the media type, with ODataLib's
  // "A supported MIME type could not be found …"). The status is the one that says what went wrong (statusOf).
  methodNotAllowed: "Request_BadRequest",
  unsupportedMediaType: "Request_BadRequest",
  rateLimited: "TooManyRequests",
  failedDependency: "FailedDependency",
};

/**
 * Kinds whose status is not their code's usual one: Graph's errors page lists 405 ("The HTTP method in the request isn't
 * allowed on the resource") and 415 ("The content type of the request is a format that isn't supported by the
 * service"), and clients branch on the status before they read the code.
 */
const statusOf: Partial<Record<ErrorKind, ContentfulStatusCode>> = {
  methodNotAllowed: 405,
  unsupportedMediaType: 415,
};

export type GraphErrorDetail = { code: string; message: string; target?: string };

export type GraphErrorBody = {
  error: {
    code: string;
    message: string;
    details?: GraphErrorDetail[];
    innerError: { date: string; "request-id": string; "client-request-id": string };
  };
};

export function graphErrorBody(
  error: { code: string; message: string; details?: GraphErrorDetail[] | undefined },
  requestId: string,
  clientRequestId: string,
  now: Date,
): GraphErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details?.length ? { details: error.details } : {}),
      innerError: { date: graphTime(now), "request-id": requestId, "client-request-id": clientRequestId },
    },
  };
}

export type GraphFailure = {
  status: ContentfulStatusCode;
  code: GraphErrorCode;
  message: string;
  details?: GraphErrorDetail[];
  headers: Record<string, string>;
};

/** How a domain error reads in Graph's vocabulary. */
export function graphFailure(error: DomainError): GraphFailure {
  const code = codeOf[error.kind];
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers["Retry-After"] = String(error.retryAfter);
  if (error.allow) headers.Allow = error.allow.join(", ");
  return {
    status: statusOf[error.kind] ?? graphErrorStatus[code],
    code,
    message: error.message,
    ...(error.fields?.length
      ? {
          details: error.fields.map((f) => ({
            // Graph names a taken unique value an ObjectConflict, any other bad field an InvalidValue.
            code: error.kind === "uniqueness" ? "ObjectConflict" : "InvalidValue",
            target: f.field,
            message: f.message,
          })),
        }
      : {}),
    headers,
  };
}

/**
 * ODataLib's sentence for a body it cannot read, which Graph answers as is (msgraph-sdk-java#687 from the directory,
 * CoasterKaty/PHPGraphMailer#14 with status 415 from mail; "response" is ODataLib's own slip). Every JSON route takes
 * application/json only (the catalogue's CSV import declares no schema Hono checks).
 */
export const unsupportedMediaTypeMessage = (contentType: string) =>
  `A supported MIME type could not be found that matches the content type of the response. None of the supported type(s) 'application/json' matches the content type '${contentType}'.`;

/** Errors Hono itself raises (body limits, unreadable JSON, a body that is not JSON) in the domain's vocabulary. */
function fromHttpException(error: HTTPException, c: Context): DomainError {
  if (error.status === 413) return new DomainError("tooLarge", "The request body is too large.");
  if (error.status === 415) {
    return new DomainError("unsupportedMediaType", unsupportedMediaTypeMessage(c.req.header("content-type") ?? ""));
  }
  if (error.status === 400)
    return new DomainError("validation", `Invalid request body: ${error.message || "malformed JSON."}`);
  return new DomainError("validation", error.message || "Bad request.");
}

/**
 * SQLite's and D1's limits that what a client sends can reach, by the words of their errors (D1 prefixes them with
 * `D1_ERROR:`), and how each reads to the client. The compilers bound what they build so that none of these should be
 * reached (the fuzz suite checks it); one that still is, is the client's request being too big or too complex, so a
 * 400, logged for the bound that missed it, and never a 500.
 */
const databaseLimits: [RegExp, string][] = [
  [/too many SQL variables|variable number must be between/i, "it needs more values than one query may hold"],
  [/Expression tree is too large|parser stack overflow/i, "its conditions nest too deeply"],
  [/LIKE or GLOB pattern too complex/i, "a text pattern in it is too long"],
  [/string or blob too big|statement too long|SQLITE_TOOBIG/i, "a value in it is too large"],
  [/too many terms in compound SELECT|too many arguments on function/i, "it has too many terms"],
];

/** The client-caused database limit an unexpected error is, if it is one: Graph's 400 for it. */
export function databaseLimitError(error: unknown): DomainError | null {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  const hit = databaseLimits.find(([pattern]) => pattern.test(text));
  return hit ? new DomainError("validation", `The request is too complex to run: ${hit[1]}.`) : null;
}

type Vars = { requestId?: string; clientRequestId?: string };

const ids = (c: Context) => {
  const vars = c.var as Vars;
  const requestId = vars.requestId ?? crypto.randomUUID();
  return { requestId, clientRequestId: vars.clientRequestId ?? requestId };
};

/** Renders any failure as Graph does; a 500 never shows internals, only the request id to quote. */
export function renderGraphError(c: Context, error: unknown) {
  const { requestId, clientRequestId } = ids(c);
  const limit = error instanceof DomainError || error instanceof HTTPException ? null : databaseLimitError(error);
  const domain =
    error instanceof DomainError ? error : error instanceof HTTPException ? fromHttpException(error, c) : limit;
  if (limit) {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "a request reached a database limit",
        requestId,
        path: c.req.path,
        error: String(error),
      }),
    );
  } else if (!domain) {
    console.error(
      JSON.stringify({
        level: "error",
        requestId,
        path: c.req.path,
        error: String(error),
        stack: (error as Error)?.stack,
      }),
    );
  }
  const failure: GraphFailure = domain
    ? graphFailure(domain)
    : {
        status: 500,
        code: "Service_InternalServerError",
        message: "An internal server error occurred. Quote the request-id when reporting it.",
        headers: {},
      };
  for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
  c.header("request-id", requestId);
  return c.json(graphErrorBody(failure, requestId, clientRequestId, new Date()), failure.status);
}

/** Graph's directory text for a known resource asked with a method it does not take (microsoft-graph-docs#119). */
export const METHOD_NOT_ALLOWED = "Specified HTTP method is not allowed for the request target.";

/**
 * Installs the error renderer and the answer for a request no route takes: a 405 with `Allow` when the path is one the
 * app declares under other methods (`allowedMethods`, read from the route registry), Graph's 404 otherwise.
 */
export function installGraphErrors<E extends HonoEnv>(
  app: Hono<E>,
  options: { allowedMethods?: (path: string) => string[] } = {},
): Hono<E> {
  app.notFound((c) => {
    const allow = options.allowedMethods?.(c.req.path) ?? [];
    if (allow.length > 0)
      return renderGraphError(c, new DomainError("methodNotAllowed", METHOD_NOT_ALLOWED, { allow }));
    const segment = c.req.path.split("/").filter(Boolean).pop() ?? "";
    return renderGraphError(c, new DomainError("notFound", `Resource not found for the segment '${segment}'.`));
  });
  app.onError((error, c) => renderGraphError(c, error));
  return app;
}
