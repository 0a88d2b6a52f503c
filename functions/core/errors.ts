import type { ContentfulStatusCode } from "hono/utils/http-status";

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

export type GraphErrorDetail = { code: string; message: string; target?: string };

/** A failure the caller can act on. Thrown anywhere; rendered once, by the app's error handler. */
export class GraphError extends Error {
  readonly code: GraphErrorCode;
  readonly status: ContentfulStatusCode;
  readonly details: GraphErrorDetail[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: GraphErrorCode,
    message: string,
    options: { details?: GraphErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "GraphError";
    this.code = code;
    this.status = graphErrorStatus[code];
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const badRequest = (message: string, details?: GraphErrorDetail[]) =>
  new GraphError("Request_BadRequest", message, details ? { details } : {});

export const notFound = (id: string) =>
  new GraphError(
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const concurrencyViolation = () =>
  new GraphError(
    "Directory_ConcurrencyViolation",
    "Another operation changed this object at the same time. Retry the request.",
    { headers: { "Retry-After": "1" } },
  );

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
      innerError: {
        date: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
        "request-id": requestId,
        "client-request-id": clientRequestId,
      },
    },
  };
}
