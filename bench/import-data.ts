/**
 * The synthetic records file of `npm run bench:import`: deterministic, generated (never real data), written in large
 * chunks so a million rows take a second or two. Unique phones in the 138/139 segments, names of two or three Han
 * characters, identity numbers with valid region, birth date and check character.
 */
import fs from "node:fs";
import { idCheckChar } from "../src/rules/idcard";

const SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈";
const GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞";
const REGIONS = ["110105", "310104", "440106", "330106", "510104", "320102"];
const DAY_MS = 86_400_000;
const FIRST_BIRTH = Date.UTC(1950, 0, 1);

/** The i-th row's phone, name and identity number. */
export function syntheticRow(i: number): string {
  const phone = `${i < 100_000_000 ? "138" : "139"}${String(i % 100_000_000).padStart(8, "0")}`;
  const name =
    (SURNAMES[i % SURNAMES.length] ?? "") +
    (GIVEN[(i * 7) % GIVEN.length] ?? "") +
    (i % 3 === 0 ? "" : (GIVEN[(i * 13) % GIVEN.length] ?? ""));
  // 18,262 birth days × 1,000 sequence numbers × 6 regions: unique for the first 100 million rows
  const birth = new Date(FIRST_BIRTH + (i % 18_262) * DAY_MS).toISOString();
  const sequence = String(Math.floor(i / 18_262) % 1000).padStart(3, "0");
  const region = REGIONS[Math.floor(i / 18_262_000) % REGIONS.length] ?? "110105";
  const body = `${region}${birth.slice(0, 4)}${birth.slice(5, 7)}${birth.slice(8, 10)}${sequence}`;
  return `${phone},${name},${body}${idCheckChar(body)}\n`;
}

/** Writes `rows` rows and the header to `file`. */
export async function writeRecordsCsv(file: string, rows: number): Promise<void> {
  const out = fs.createWriteStream(file);
  const drained = () => new Promise<void>((resolve) => out.once("drain", () => resolve()));
  out.write("phone,name,idcard\n");
  let chunk = "";
  for (let i = 0; i < rows; i++) {
    chunk += syntheticRow(i);
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await drained();
      chunk = "";
    }
  }
  out.write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
