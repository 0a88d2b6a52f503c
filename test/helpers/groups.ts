import { vi } from "vitest";
import type { Client } from "./api.ts";

export async function newGroup(api: Client, fields: Record<string, unknown> = {}): Promise<string> {
  const nick = `g${Math.random().toString(36).slice(2, 10)}`;
  const res = await api.post("/v1.0/groups", {
    displayName: `Group ${nick}`,
    mailEnabled: false,
    mailNickname: nick,
    securityEnabled: true,
    ...fields,
  });
  if (res.status !== 201) throw new Error(`group create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function addMembers(api: Client, groupId: string, userIds: string[]) {
  for (const id of userIds) {
    const res = await api.post(`/v1.0/groups/${groupId}/members/$ref`, {
      "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${id}`,
    });
    if (res.status !== 204) throw new Error(`add member failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

export const assignGroup = (
  api: Client,
  groupId: string,
  add: { skuId: string; disabledPlans?: string[] }[],
  remove: string[] = [],
) =>
  api.post(`/v1.0/groups/${groupId}/assignLicense`, {
    addLicenses: add.map((a) => ({ skuId: a.skuId, disabledPlans: a.disabledPlans ?? [] })),
    removeLicenses: remove,
  });

/** Waits until the queue has applied the group's licenses (licenseProcessingState ProcessingComplete). */
export async function processed(api: Client, groupId: string) {
  await vi.waitFor(
    async () => {
      const res = await api.get(`/v1.0/groups/${groupId}?$select=licenseProcessingState`);
      if (res.body.licenseProcessingState?.state !== "ProcessingComplete") throw new Error(JSON.stringify(res.body));
    },
    { timeout: 30_000, interval: 50 },
  );
}

/** Polls until `check` stops throwing (queue-driven effects settle asynchronously). */
export const eventually = (check: () => Promise<void>, timeout = 30_000) =>
  vi.waitFor(check, { timeout, interval: 50 });

export async function states(api: Client, userId: string) {
  const res = await api.get(`/v1.0/users/${userId}?$select=assignedLicenses,licenseAssignmentStates`);
  return res.body as {
    assignedLicenses: { skuId: string; disabledPlans: string[] }[];
    licenseAssignmentStates: {
      skuId: string;
      assignedByGroup: string | null;
      state: string;
      error: string;
      disabledPlans: string[];
    }[];
  };
}
