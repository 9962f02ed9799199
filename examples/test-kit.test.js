// The test kit in a node:test file: a fresh sanyao for this file, and the official SDK pointed at it.
// Run it from the project directory (npm ci builds sanyao): node --test examples/test-kit.test.js
// In a project of your own, after npm install --save-dev sanyao tencentcloud-sdk-nodejs, the file is the same.
"use strict";
const assert = require("node:assert/strict");
const { after, before, it } = require("node:test");
const { startSanyao } = require("sanyao/testing");
const tencentcloud = require("tencentcloud-sdk-nodejs");

let sanyao;
let client;
before(async () => {
  sanyao = await startSanyao();
  client = new tencentcloud.faceid.v20180301.Client({
    credential: sanyao.credential,
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: sanyao.endpoint.replace("http://", ""), protocol: "http://" } },
  });
});
after(() => sanyao.close());

it("fails on purpose, then answers normally again", async () => {
  await sanyao.scenarios.add({ action: "PhoneVerification", error: "InternalError", times: 1 });
  await assert.rejects(client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" }), {
    code: "InternalError",
  });
  const answer = await client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" });
  assert.equal(answer.Result, "0");
});

it("tells what my code sent", async () => {
  await client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143", VerifyMode: "1" });
  const [last] = (await sanyao.requests()).slice(-1);
  assert.equal(last?.verifyMode, "1");
});
