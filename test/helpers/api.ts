import { env, exports } from "cloudflare:workers";
import { app } from "../../functions/app.ts";
import { makeCtx, type Role } from "../../functions/core/context.ts";
import { createTenant } from "../../functions/lifecycle/tenants.ts";
import { issueApiKey } from "../../functions/tenancy/actions.ts";

export const BASE = "http://seatflow.test";

// ---- the contract, checked on every answer a test gets -------------------------------------------------------

type Declared = { method: string; template: string; pattern: RegExp; responses: Record<string, unknown> };

const parameters = (template: string) => (template.match(/\{/g) ?? []).length;

// A literal segment wins over a parameter, as in the app (GET /v1.0/users/$count is not GET /v1.0/users/{id}).
const declaredRoutes: Declared[] = app.openAPIRegistry.definitions
  .flatMap((d) =>
    d.type === "route"
      ? [
          {
            method: d.route.method.toUpperCase(),
            template: d.route.path,
            pattern: new RegExp(`^${d.route.path.replace(/[$.]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`),
            responses: d.route.responses as Record<string, unknown>,
          },
        ]
      : [],
  )
  .sort((a, b) => parameters(a.template) - parameters(b.template));

type Schema = { safeParse?: (v: unknown) => { success: boolean; error?: unknown } };

/** Routes whose answers the tests checked against their declared schemas, for the coverage test. */
export const contractChecked = new Set<string>();

/**
 * Checks an answer against what its route declares for that status: a status the route does not declare, a media type
 * it does not declare, or a body its schema refuses, is a broken contract (/openapi.json would lie to whoever generates
 * a client from it). JSON bodies are checked parsed, text/plain ones (GET /users/$count) as the text they are.
 */
export function checkContract(
  method: string,
  path: string,
  status: number,
  body: unknown,
  raw: { text: string; contentType: string | null } = { text: JSON.stringify(body), contentType: "application/json" },
) {
  const bare = path.split("?")[0]!;
  const route = declaredRoutes.find((r) => r.method === method && r.pattern.test(bare));
  // Unknown paths answer Graph's 404 from the app's notFound; the docs and the document itself have no contract.
  if (!route || status >= 500) return;
  const declared = route.responses[String(status)] as { content?: Record<string, { schema?: Schema }> } | undefined;
  if (!declared) throw new Error(`${method} ${route.template} answered ${status}, which it does not declare`);
  contractChecked.add(`${method} ${route.template}`);
  const media = Object.keys(declared.content ?? {});
  if (media.length === 0) {
    if (body !== null && body !== "") throw new Error(`${method} ${route.template} ${status} declares no body`);
    return;
  }
  const type = (raw.contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (!media.includes(type)) {
    throw new Error(`${method} ${route.template} ${status} answered ${type || "no content type"}, declares ${media}`);
  }
  const schema = declared.content![type]!.schema;
  if (!schema?.safeParse) return;
  const checked = schema.safeParse(type === "application/json" ? body : raw.text);
  if (!checked.success) {
    throw new Error(
      `${method} ${route.template} ${status} does not match its declared schema: ${JSON.stringify(checked.error).slice(0, 2000)}\nbody: ${raw.text.slice(0, 1000)}`,
    );
  }
}

export type ApiResponse<T = any> = { status: number; body: T; headers: Headers };

/** Calls the real Worker (fetch handler in workerd, real D1) as an API key holder. */
export async function call<T = any>(
  key: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (key) (init.headers as Record<string, string>).authorization = `Bearer ${key}`;
  if (body !== undefined) {
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await exports.default.fetch(new Request(`${BASE}${path}`, init));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (docs page, etc.)
  }
  checkContract(method.toUpperCase(), path, response.status, parsed, {
    text,
    contentType: response.headers.get("content-type"),
  });
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export type TestTenant = {
  id: string;
  /** The tenant's own verified domain: a name no other test tenant holds. */
  domain: string;
  keys: Record<Role, string>;
  as: (role: Role) => Client;
  admin: Client;
};

export type Client = {
  /** The verified domain of the client's tenant (its users' userPrincipalNames end in it). */
  domain: string;
  get: <T = any>(path: string, headers?: Record<string, string>) => Promise<ApiResponse<T>>;
  post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;
  patch: <T = any>(path: string, body?: unknown) => Promise<ApiResponse<T>>;
  delete: <T = any>(path: string) => Promise<ApiResponse<T>>;
};

export const client = (key: string | null, domain = "contoso.test"): Client => ({
  domain,
  get: (path, headers) => call(key, "GET", path, undefined, headers),
  post: (path, body, headers) => call(key, "POST", path, body ?? {}, headers),
  patch: (path, body) => call(key, "PATCH", path, body ?? {}),
  delete: (path) => call(key, "DELETE", path),
});

const allRoles: Role[] = [
  "GlobalAdministrator",
  "LicenseAdministrator",
  "UserAdministrator",
  "GlobalReader",
  "HrIntegration",
];

/** The context test fixtures act in: a system actor, as the CLI and the seed do. */
export const systemCtx = (tenantId = "") => makeCtx(env, tenantId, { kind: "system", name: "test fixtures" });

/** A fresh tenant per test keeps tests independent while they share one database. */
export async function newTenant(
  country = "US",
  displayName = "Contoso",
  options: { operator?: boolean; selfServiceSubscriptions?: boolean } = {},
): Promise<TestTenant> {
  // Domains belong to one tenant each: every test tenant has its own (and sells itself seats, as the demo does).
  const domain = `${displayName.toLowerCase().replace(/[^a-z0-9]+/g, "")}-${Math.random().toString(36).slice(2, 10)}.test`;
  const { tenant } = await createTenant({
    ctx: systemCtx(),
    input: {
      displayName,
      country,
      operator: options.operator ?? false,
      selfServiceSubscriptions: options.selfServiceSubscriptions ?? true,
      domains: [domain],
    },
  });
  const keys = {} as Record<Role, string>;
  for (const role of allRoles) keys[role] = (await issueApiKey({ ctx: systemCtx(tenant.id), input: { role } })).key;
  return {
    id: tenant.id,
    domain,
    keys,
    as: (role) => client(keys[role], domain),
    admin: client(keys.GlobalAdministrator, domain),
  };
}

export const SKU = {
  SPB: "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
  E3: "6fd2c87f-b296-42f0-b197-1e91e994b900",
  EMS: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
  EXCHANGE_P1: "4b9405b0-7788-4568-add1-99614e613b69",
  EXCHANGE_P2: "19ec0d23-8335-4cbd-94ac-6050e30712fa",
  AUDIO_CONF: "0c266dff-15dd-4b49-8397-2bb16070ed52",
  PROJECT_PREMIUM: "09015f9f-377f-4538-bbb5-f75ceb09358a",
} as const;

export const PLAN = {
  EXCHANGE_S_STANDARD: "9aaf7827-d63c-4b61-89c3-182f06f82e5c",
  EXCHANGE_S_ENTERPRISE: "efb87545-963c-4e0d-99df-69c6916d9eb0",
  MCOSTANDARD: "0feaeb32-d00e-4d66-bd5a-43b5b83db82c",
  MCOMEETADV: "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40",
  SHAREPOINT_PROJECT: "fe71d6c3-a2ea-4499-9778-da042bf08063",
  SHAREPOINTENTERPRISE: "5dbe027f-2339-4123-9542-606e4d348a72",
  SWAY: "a23b959c-7ce8-4e57-9140-b90eb88a9e97",
} as const;

let counter = 0;
/** Creates a user through the API; returns its id. */
export async function newUser(api: Client, fields: Record<string, unknown> = {}): Promise<string> {
  counter++;
  const nick = `user${counter}x${Math.random().toString(36).slice(2, 8)}`;
  const res = await api.post("/v1.0/users", {
    accountEnabled: true,
    displayName: `User ${counter}`,
    mailNickname: nick,
    userPrincipalName: `${nick}@${api.domain}`,
    passwordProfile: { password: "x!Y2-long-enough", forceChangePasswordNextSignIn: true },
    usageLocation: "US",
    ...fields,
  });
  if (res.status !== 201) throw new Error(`user create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function buy(api: Client, sku: string, seats: number, extra: Record<string, unknown> = {}) {
  const res = await api.post("/api/subscriptions", { skuId: sku, totalLicenses: seats, ...extra });
  if (res.status !== 201) throw new Error(`subscription failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string };
}

export const assign = (
  api: Client,
  userId: string,
  add: { skuId: string; disabledPlans?: string[] }[],
  remove: string[] = [],
) =>
  api.post(`/v1.0/users/${userId}/assignLicense`, {
    addLicenses: add.map((a) => ({ skuId: a.skuId, disabledPlans: a.disabledPlans ?? [] })),
    removeLicenses: remove,
  });
