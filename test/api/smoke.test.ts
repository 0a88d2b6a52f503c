import { exports } from "cloudflare:workers";
import { env } from "cloudflare:test";
import { expect, it } from "vitest";
it("serves", async () => {
  const r = await exports.default.fetch("http://x/");
  expect(await r.text()).toBe("ok");
  const q = await env.DB.prepare("select count(*) n from users").first();
  expect(q).toEqual({ n: 0 });
});
