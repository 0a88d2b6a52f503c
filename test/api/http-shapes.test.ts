import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/app.ts";
import { type ApiResponse, BASE, call, newTenant, newUser, type TestTenant } from "../helpers/api.ts";

// Graph's directory texts, with their sources (docs/graph-errors-research.md):
// - a wrong method: Request_BadRequest, "Specified HTTP method is not allowed for the request target."
//   (microsoftgraph/microsoft-graph-docs#119); the status is 405, as Graph's errors page lists it, with `Allow`.
// - a body that is not JSON: Request_BadRequest with ODataLib's sentence (microsoftgraph/msgraph-sdk-java#687; with
//   status 415 in CoasterKaty/PHPGraphMailer#14); Graph's errors page lists 415 for it.
const METHOD_TEXT = "Specified HTTP method is not allowed for the request target.";
const mediaTypeText = (contentType: string) =>
  `A supported MIME type could not be found that matches the content type of the response. None of the supported type(s) 'application/json' matches the content type '${contentType}'.`;

function expectEnvelope(res: ApiResponse, status: number, code: string, message: string) {
  expect({ status: res.status, code: res.body?.error?.code, message: res.body?.error?.message }).toEqual({
    status,
    code,
    message,
  });
  expect(res.body.error.innerError["request-id"]).toBe(res.headers.get("request-id"));
}

let t: TestTenant;
let userId: string;

beforeAll(async () => {
  t = await newTenant();
  userId = await newUser(t.admin);
});

describe("405 for a known path with a method it does not take", () => {
  it("answers PUT /v1.0/users/{id} with Graph's text and the methods the path takes in Allow", async () => {
    const res = await call(t.keys.GlobalAdministrator, "PUT", `/v1.0/users/${userId}`, { jobTitle: "Nope" });
    expectEnvelope(res, 405, "Request_BadRequest", METHOD_TEXT);
    expect(res.headers.get("allow")).toBe("GET, HEAD, PATCH, DELETE");
    // Nothing was changed by the refused write.
    expect((await t.admin.get(`/v1.0/users/${userId}?$select=jobTitle`)).body.jobTitle).toBeNull();
  });

  it("answers DELETE /v1.0/subscribedSkus, GET /v1.0/$batch and POST .../licenseDetails the same way", async () => {
    const skus = await t.admin.delete("/v1.0/subscribedSkus");
    expectEnvelope(skus, 405, "Request_BadRequest", METHOD_TEXT);
    expect(skus.headers.get("allow")).toBe("GET, HEAD");
    const batch = await t.admin.get("/v1.0/$batch");
    expectEnvelope(batch, 405, "Request_BadRequest", METHOD_TEXT);
    expect(batch.headers.get("allow")).toBe("POST");
    const details = await t.admin.post(`/v1.0/users/${userId}/licenseDetails`, {});
    expectEnvelope(details, 405, "Request_BadRequest", METHOD_TEXT);
    expect(details.headers.get("allow")).toBe("GET, HEAD");
    const keys = await call(t.keys.GlobalAdministrator, "PATCH", "/api/keys", {});
    expectEnvelope(keys, 405, "Request_BadRequest", METHOD_TEXT);
    expect(keys.headers.get("allow")).toBe("GET, HEAD, POST");
  });

  it("lists in Allow every method the route registry declares at each path (read from the app, not a hand list)", async () => {
    const declared = new Map<string, Set<string>>();
    for (const d of app.openAPIRegistry.definitions) {
      if (d.type !== "route") continue;
      declared.set(d.route.path, (declared.get(d.route.path) ?? new Set()).add(d.route.method.toUpperCase()));
    }
    expect(declared.size).toBeGreaterThanOrEqual(30);
    const wrong = [];
    for (const [template, methods] of declared) {
      // No route takes PUT; a path template with its parameters filled in is the path a client would send.
      const path = template.replace(/\{[^}]+\}/g, "x");
      const res = await call(t.keys.GlobalAdministrator, "PUT", path, {});
      const allow = new Set((res.headers.get("allow") ?? "").split(", ").filter(Boolean));
      const expected = [...methods, ...(methods.has("GET") ? ["HEAD"] : [])];
      if (res.status !== 405 || !expected.every((m) => allow.has(m)) || allow.has("PUT")) {
        wrong.push({ template, status: res.status, allow: res.headers.get("allow") });
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps unknown paths a 404 and authenticates before it answers 405", async () => {
    const unknown = await call(t.keys.GlobalAdministrator, "PUT", "/v1.0/noSuchCollection", {});
    expectEnvelope(unknown, 404, "Request_ResourceNotFound", "Resource not found for the segment 'noSuchCollection'.");
    expect(unknown.headers.get("allow")).toBeNull();
    const deeper = await t.admin.get(`/v1.0/users/${userId}/licenseDetails/extra`);
    expect(deeper.status).toBe(404);
    // Without a key, a known path with the wrong method is a 401 like any other request to the API.
    const anonymous = await call(null, "PUT", `/v1.0/users/${userId}`, {});
    expect({ status: anonymous.status, code: anonymous.body.error.code }).toEqual({
      status: 401,
      code: "InvalidAuthenticationToken",
    });
    expect(anonymous.headers.get("allow")).toBeNull();
  });

  it("answers a wrong method inside a $batch with 405 too", async () => {
    const res = await t.admin.post("/v1.0/$batch", {
      requests: [{ id: "1", method: "PUT", url: `/users/${userId}`, body: { jobTitle: "Nope" } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.responses[0].status).toBe(405);
    expect(res.body.responses[0].body.error).toMatchObject({ code: "Request_BadRequest", message: METHOD_TEXT });
  });
});

describe("415 for a body that is not JSON", () => {
  it("refuses POST /v1.0/users sent as text/plain with Graph's code and ODataLib's sentence, creating nothing", async () => {
    const upn = `plain${Math.random().toString(36).slice(2, 8)}@${t.domain}`;
    const body = JSON.stringify({
      accountEnabled: true,
      displayName: "Plain Text",
      mailNickname: upn.split("@")[0],
      userPrincipalName: upn,
    });
    const res = await call(t.keys.GlobalAdministrator, "POST", "/v1.0/users", body, { "content-type": "text/plain" });
    expectEnvelope(res, 415, "Request_BadRequest", mediaTypeText("text/plain"));
    expect((await t.admin.get(`/v1.0/users/${upn}`)).status).toBe(404);
    // The same body as JSON, with a charset parameter, is taken.
    const json = await call(t.keys.GlobalAdministrator, "POST", "/v1.0/users", body, {
      "content-type": "application/json; charset=utf-8",
    });
    expect(json.status).toBe(201);
  });

  it("refuses a PATCH sent as XML, and a body sent without any Content-Type", async () => {
    const xml = await call(t.keys.GlobalAdministrator, "PATCH", `/v1.0/users/${userId}`, "<user/>", {
      "content-type": "application/xml",
    });
    expectEnvelope(xml, 415, "Request_BadRequest", mediaTypeText("application/xml"));

    // A streamed body with no Content-Type at all (fetch adds text/plain to a string body, not to a stream).
    const bytes = new TextEncoder().encode(JSON.stringify({ jobTitle: "Streamed" }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    const response = await exports.default.fetch(
      new Request(`${BASE}/v1.0/users/${userId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${t.keys.GlobalAdministrator}` },
        body: stream,
      }),
    );
    expect(response.status).toBe(415);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "Request_BadRequest", message: mediaTypeText("") });
    expect((await t.admin.get(`/v1.0/users/${userId}?$select=jobTitle`)).body.jobTitle).toBeNull();
  });

  it("declares 415 on every route that takes a JSON body, and only there", () => {
    const routes = app.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []));
    const mismatched = routes
      .filter((r) => Boolean(r.request?.body?.content?.["application/json"]) !== Boolean(r.responses[415]))
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(mismatched).toEqual([]);
  });
});
