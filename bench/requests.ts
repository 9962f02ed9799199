/** The benchmark's requests: the realistic mix, pre-signed for one server, and a check of what it answers. */
import fs from "node:fs";
import { TencentCloudError } from "../src/client/errors";
import { FaceIdClient, type PhoneVerificationRequest } from "../src/client/faceid";
import { signTc3 } from "../src/client/signer";
import { person, type Dataset } from "./dataset";

/** The realistic mix: mostly charged (0, -4), some not on record (-9), some pre-check failures. */
export function mix(i: number, records: number): PhoneVerificationRequest {
  const p = person((i * 7919) % records);
  const base = { Phone: p.phone, Name: p.name, IdCard: p.idcard };
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
      return base; // 0
    case 6:
    case 7:
      return { ...base, Name: base.Name === "张伟" ? "李娜" : "张伟" }; // -4
    case 8:
      return { ...base, Phone: `139${base.Phone.slice(3)}` }; // -9
    default:
      return [
        { ...base, Phone: "1380000" },
        { ...base, IdCard: `${base.IdCard.slice(0, 17)}Y` },
        { ...base, Name: "张3" },
      ][i % 3]!; // -6/-7/-8
  }
}

export function writeRequests(file: string, port: number, d: Dataset, bodies: readonly object[]): void {
  const timestamp = Math.floor(Date.now() / 1000);
  const requests = bodies.map((params) => {
    const body = JSON.stringify(params);
    const headers = signTc3({
      secretId: d.secretId,
      secretKey: d.secretKey,
      service: "faceid",
      host: `127.0.0.1:${port}`,
      action: "PhoneVerification",
      version: "2018-03-01",
      timestamp,
      body,
    });
    return { method: "POST", path: "/", headers, body };
  });
  fs.writeFileSync(file, JSON.stringify(requests));
}

export async function checkMix(port: number, d: Dataset, bodies: PhoneVerificationRequest[]): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const client = new FaceIdClient({ credential: d, endpoint: `http://127.0.0.1:${port}` });
  for (const params of bodies.slice(0, 200)) {
    let code: string;
    try {
      code = (await client.phoneVerification(params)).Result;
    } catch (err) {
      if (!(err instanceof TencentCloudError)) throw err;
      code = err.code;
    }
    seen[code] = (seen[code] ?? 0) + 1;
  }
  client.close();
  return seen;
}
