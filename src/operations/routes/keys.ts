/** API keys of an account: listed (never their secrets), made (the SecretKey shown once), disabled and enabled again. */
import { InputError } from "../../common/input-error";
import { SecretIdTaken } from "../../store/storage";
import type { OperationsContext } from "../context";
import { json, notFound, OperationError, routesFor } from "../route";
import { array, boolean, object, optional, string } from "../schema";
import { accountId, keyAnswer, secretId } from "./shapes";

const route = routesFor<OperationsContext>();

const newKey = object({
  secretId: string(),
  secretKey: string({ description: "shown in full only in this answer: keep it now" }),
  accountId: string(),
  test: boolean(),
});

export const keyRoutes = [
  route({
    id: "listKeys",
    method: "GET",
    path: "/_sanyao/accounts/{accountId}/keys",
    group: "keys",
    summary: "An account's keys, oldest first (never their secrets)",
    access: "read",
    params: object({ accountId }),
    answers: { 200: { description: "the keys", schema: object({ keys: array(keyAnswer) }) } },
    errors: { 404: "no such account" },
    handle: async ({ params }, ctx) => {
      if (!(await ctx.store.accounts.get(params.accountId))) throw notFound(`No account ${params.accountId}.`);
      return json(200, { keys: await ctx.store.apiKeys.list(params.accountId) });
    },
  }),
  route({
    id: "createKey",
    method: "POST",
    path: "/_sanyao/accounts/{accountId}/keys",
    group: "keys",
    summary: "Create a key; the answer is the only place its SecretKey is ever shown",
    description: "A running server accepts the new key within 250 ms.",
    access: "write",
    params: object({ accountId }),
    body: object({
      test: optional(boolean({ description: "a test key: its calls answer from the fixtures and are charged to the test ledger" })),
      secretId: optional(secretId),
      secretKey: optional(string({ minLength: 16, maxLength: 256, description: "with secretId: fixed credentials (a key CI knows)" })),
    }),
    answers: { 201: { description: "created", schema: object({ key: newKey }) } },
    errors: { 404: "no such account", 409: "the SecretId given exists already" },
    handle: async ({ params, body }, ctx) => {
      if ((body.secretId === undefined) !== (body.secretKey === undefined)) {
        throw new InputError("secretId and secretKey go together.");
      }
      if (!(await ctx.store.accounts.get(params.accountId))) throw notFound(`No account ${params.accountId}.`);
      const given =
        body.secretId !== undefined && body.secretKey !== undefined ? { secretId: body.secretId, secretKey: body.secretKey } : undefined;
      try {
        const key = await ctx.store.apiKeys.create(params.accountId, given, { test: body.test === true });
        return json(201, { key: { ...key, accountId: params.accountId, test: body.test === true } });
      } catch (err) {
        if (err instanceof SecretIdTaken) throw new OperationError(409, err.message);
        throw err;
      }
    },
  }),
  route({
    id: "setKeyEnabled",
    method: "PATCH",
    path: "/_sanyao/keys/{secretId}",
    group: "keys",
    summary: "Disable a key (its calls fail with AuthFailure.SecretIdNotFound) or enable it again",
    description: "A running server sees the change within 250 ms.",
    access: "write",
    params: object({ secretId }),
    body: object({ enabled: boolean() }),
    answers: { 200: { description: "changed", schema: object({ secretId: string(), enabled: boolean() }) } },
    errors: { 404: "no such key" },
    handle: async ({ params, body }, ctx) => {
      if (!(await ctx.store.apiKeys.setEnabled(params.secretId, body.enabled))) throw notFound("No such key.");
      return json(200, { secretId: params.secretId, enabled: body.enabled });
    },
  }),
];
