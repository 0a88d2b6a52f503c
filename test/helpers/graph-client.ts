import { exports } from "cloudflare:workers";
import { Client, type Context, type Middleware } from "@microsoft/microsoft-graph-client";
import { BASE } from "./api.ts";

/**
 * Sets `Authorization: Bearer <key>` on every request. The SDK's own AuthenticationHandler only sends the token to
 * Graph hosts (and custom hosts over https), so a plain-http test host needs this instead.
 */
class BearerKeyMiddleware implements Middleware {
  private next: Middleware | undefined;
  private readonly key: string;

  constructor(key: string) {
    this.key = key;
  }

  async execute(context: Context): Promise<void> {
    context.options ??= {};
    const headers = context.options.headers;
    if (headers instanceof Headers) {
      headers.set("Authorization", `Bearer ${this.key}`);
    } else if (Array.isArray(headers)) {
      context.options.headers = [...headers, ["Authorization", `Bearer ${this.key}`]];
    } else {
      context.options.headers = { ...(headers ?? {}), Authorization: `Bearer ${this.key}` };
    }
    if (!this.next) throw new Error("BearerKeyMiddleware must not be the last middleware in the chain");
    await this.next.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

/**
 * The chain's terminal handler: instead of the SDK's HTTPMessageHandler (global fetch, i.e. the network) it hands the
 * request to this Worker's own fetch handler inside workerd.
 */
class WorkerFetchMiddleware implements Middleware {
  /** Every request the SDK sent, for assertions on what actually went over the "wire". */
  readonly sent: { method: string; url: string }[] = [];

  async execute(context: Context): Promise<void> {
    const request = new Request(context.request, context.options as RequestInit);
    this.sent.push({ method: request.method, url: request.url });
    context.response = await exports.default.fetch(request);
  }
}

export type TestGraphClient = { client: Client; sent: { method: string; url: string }[] };

/**
 * A Graph SDK client whose requests go to `<baseUrl>/v1.0/...` (default `http://seatflow.test`) in this Worker, as the
 * key's holder. The SDK only follows an absolute `@odata.nextLink` on an https host (it strips `https://` and the host
 * from a link; any other link it takes for a path under its base), so paging tests pass an https base.
 */
export function graphClient(key: string, baseUrl: string = BASE): TestGraphClient {
  const terminal = new WorkerFetchMiddleware();
  const client = Client.initWithMiddleware({
    baseUrl,
    defaultVersion: "v1.0",
    middleware: [new BearerKeyMiddleware(key), terminal],
  });
  return { client, sent: terminal.sent };
}
