// The typed client against a local sanyao (or Tencent Cloud: drop `endpoint`).
// Run: SANYAO_SECRET_ID=… SANYAO_SECRET_KEY=… node dist/examples/client.js [endpoint]
// The endpoint (argument, else SANYAO_ENDPOINT, else 127.0.0.1:8080) is host:port or an http(s):// URL.
import { ClientNetworkError, FaceIdClient, PHONE_VERIFICATION_RESULTS, TencentCloudError } from "../src/index";

const given = process.argv[2] ?? process.env.SANYAO_ENDPOINT ?? "127.0.0.1:8080";
const endpoint = /^https?:\/\//.test(given) ? given : `http://${given}`;

async function main(): Promise<void> {
  const faceid = new FaceIdClient({
    credential: { secretId: process.env.SANYAO_SECRET_ID ?? "", secretKey: process.env.SANYAO_SECRET_KEY ?? "" },
    endpoint,
    retry: { attempts: 3 }, // RequestLimitExceeded, network errors and -11, with backoff and jitter
    pace: 20, // never more than the service's 20 requests a second
  });
  for (const Name of ["张三", "李四"]) {
    try {
      const r = await faceid.phoneVerification({ Phone: "13800001234", Name, IdCard: "110105199003072143", VerifyMode: "1" });
      const { meaning, charged } = PHONE_VERIFICATION_RESULTS[r.Result];
      console.log(`${Name}: ${r.Result} ${meaning}${r.ResultDetail ? ` (${r.ResultDetail})` : ""}, charged: ${charged}`);
    } catch (err) {
      if (err instanceof TencentCloudError) console.log(`${err.code}: ${err.message} (RequestId ${err.requestId})`);
      else throw err;
    }
  }
  faceid.close();
}

main().catch((err: unknown) => {
  if (err instanceof ClientNetworkError && !err.maybeServed) {
    console.error(
      `Nothing answers at ${endpoint}. Is \`sanyao serve\` running? Give the endpoint as the first argument or SANYAO_ENDPOINT.`,
    );
  } else console.error(err);
  process.exitCode = 1;
});
