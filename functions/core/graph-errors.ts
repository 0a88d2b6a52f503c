/**
 * Graph's rendering of failures, for /v1.0 and /api: the error envelope, the code and status each domain error kind
 * travels with, and the app-level handlers that answer with them (SCIM and the admin UI install their own).
 */
import type { Context, Hono, Env as HonoEnv } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type ErrorKind } from "./errors.ts";
import { graphTime } from "./time.ts";

/** Graph's directory error codes, with the HTTP status each one travels with. */
export const graphErrorStatus = {
  Request_BadRequest: 400,
  Request_UnsupportedQuery: 400,
  InvalidAuthenticationToken: 401,
  Authorization_RequestDenied: 403,
  Request_ResourceNotFound: 404,
  Request_MethodNotAllowed: 405,
  Directory_ConcurrencyViolation: 409,
  Request_EntityTooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
  Service_InternalServerError: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type GraphErrorCode = keyof typeof graphErrorStatus;

/** Each kind's Graph code: the status follows from the code, so the two can never disagree. */
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
  methodNotAllowed: "Request_MethodNotAllowed",
  unsupportedMediaType: "UnsupportedMediaType",
  rateLimited: "TooManyRequests",
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
    status: graphErrorStatus[code],
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

/** Errors Hono itself raises (body limits, unreadable JSON) in the domain's vocabulary. */
function fromHttpException(error: HTTPException): DomainError {
  if (error.status === 413) return new DomainError("tooLarge", "The request body is too large.");
  if (error.status === 400)
    return new DomainError("validation", `Invalid request body: ${error.message || "malformed JSON."}`);
  return new DomainError("validation", error.message || "Bad request.");
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
  const domain =
    error instanceof DomainError ? error : error instanceof HTTPException ? fromHttpException(error) : null;
  if (!domain) {
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

/** Installs Graph's 404 for unknown paths and the error renderer on an app. */
export function installGraphErrors<E extends HonoEnv>(app: Hono<E>): Hono<E> {
  app.notFound((c) => {
    const segment = c.req.path.split("/").filter(Boolean).pop() ?? "";
    return renderGraphError(c, new DomainError("notFound", `Resource not found for the segment '${segment}'.`));
  });
  app.onError((error, c) => renderGraphError(c, error));
  return app;
}
