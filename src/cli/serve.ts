/** `sanyao serve`: first start prepares the demo, every start prints how to call it. */
import { loadConfig, type ConfigOverrides } from "../config";
import { ensureDemo, type DemoCredentials } from "../demo";
import { openInstallation } from "../installation";
import { startServer } from "../server";

function banner(url: string, dataFlag: string, demo: DemoCredentials, fresh: boolean): string {
  const endpoint = url.replace(/^http:\/\//, "");
  const sdk = [
    `const tencentcloud = require("tencentcloud-sdk-nodejs");`,
    `const client = new tencentcloud.faceid.v20180301.Client({`,
    `  credential: { secretId: "${demo.secretId}", secretKey: "${demo.secretKey}" },`,
    `  region: "ap-guangzhou",`,
    `  profile: { httpProfile: { endpoint: "${endpoint}", protocol: "http://" } },`,
    `});`,
    `client.PhoneVerification({ Phone: "13800001234", Name: "张三", IdCard: "110105199003072143" }).then(console.log);`,
  ];
  return [
    "",
    `sanyao is serving Tencent Cloud FaceID PhoneVerification at ${url}/`,
    fresh ? "First start: created the data directory, installation secret, demo account, key and records." : "",
    "",
    "Demo key (account demo):",
    `  SecretId:  ${demo.secretId}`,
    `  SecretKey: ${demo.secretKey}`,
    "",
    "Try it from another terminal in this directory:",
    `  npx sanyao verify${dataFlag} --endpoint ${url} --phone 13800001234 --name 张三 --idcard 110105199003072143`,
    "",
    "or with the official Node SDK (node, then paste):",
    ...sdk.map((l) => `  ${l}`),
    "",
  ]
    .filter((l, i, all) => l !== "" || all[i - 1] !== "")
    .join("\n");
}

export async function serve(overrides: ConfigOverrides, dataFlag: string): Promise<void> {
  const config = loadConfig(overrides);
  const installation = openInstallation(config.dataDir);
  const demo = await ensureDemo(installation, config.accountDefaults);
  const server = await startServer({ config, installation });
  process.stderr.write(banner(server.url, dataFlag, demo, installation.fresh) + "\n");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, "shutting down");
    void server.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
