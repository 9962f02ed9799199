// PhoneVerification with encrypted fields, using only the official Node SDK and node:crypto.
// Usage: SANYAO_SECRET_ID=… SANYAO_SECRET_KEY=… node examples/encrypted-verification.js [endpoint]
// The endpoint (argument, else SANYAO_ENDPOINT, else 127.0.0.1:8080) is host:port or an http(s):// URL.
"use strict";
const crypto = require("node:crypto");
const tencentcloud = require("tencentcloud-sdk-nodejs");

const given = process.argv[2] || process.env.SANYAO_ENDPOINT || "127.0.0.1:8080";
const url = new URL(/^https?:\/\//.test(given) ? given : `http://${given}`);
const clientConfig = {
  credential: { secretId: process.env.SANYAO_SECRET_ID, secretKey: process.env.SANYAO_SECRET_KEY },
  region: "ap-guangzhou",
  // the SDK takes the host and the scheme apart
  profile: { httpProfile: { endpoint: url.host, protocol: `${url.protocol}//` } },
};
const kms = new tencentcloud.kms.v20190118.Client(clientConfig);
const faceid = new tencentcloud.faceid.v20180301.Client(clientConfig);

async function main() {
  // 1. A key (CMK) once, then a data key: Plaintext is the 32-byte AES key, CiphertextBlob its wrapped form.
  const { KeyId } = await kms.CreateKey({ Alias: `faceid-fields-${Date.now()}` });
  const { Plaintext, CiphertextBlob } = await kms.GenerateDataKey({ KeyId, KeySpec: "AES_256" });
  const dataKey = Buffer.from(Plaintext, "base64");

  // 2. One 16-character Iv per request; AES-256-CBC with PKCS#7 padding, base64.
  const iv = crypto.randomBytes(12).toString("base64url").slice(0, 16);
  const encrypt = (value) => {
    const cipher = crypto.createCipheriv("aes-256-cbc", dataKey, Buffer.from(iv, "utf8"));
    return Buffer.concat([cipher.update(value, "utf8"), cipher.final()]).toString("base64");
  };

  // 3. The encrypted fields replace the plain ones; the server unwraps the data key with KMS Decrypt.
  const response = await faceid.PhoneVerification({
    Phone: encrypt("13800001234"),
    Name: encrypt("张三"),
    IdCard: encrypt("110105199003072143"),
    EncryptList: ["Phone", "Name", "IdCard"],
    CiphertextBlob,
    Iv: iv,
  });
  console.log(response);
}

main().catch((err) => {
  if (/ECONNREFUSED/.test(err.message)) {
    console.error(
      `Nothing answers at ${url.origin}. Is \`sanyao serve\` running? Give the endpoint as the first argument or SANYAO_ENDPOINT.`,
    );
  } else console.error(err.code || "", err.message);
  process.exitCode = 1;
});
