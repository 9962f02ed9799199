/**
 * A refused seed names the file, the entry and the field, never a value of a person: a JSON syntax error, a bad record
 * and a bad scenario phone each leave stderr without the name, phone or identity number they carried.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { sanyao } from "./helpers/cli";
import { tempDir } from "./helpers/server";

const NAME = "欧阳娜娜";
const PHONE = "13912345678";
const IDCARD = "11010519491231002X";

async function refusal(seed: string): Promise<string> {
  const dir = tempDir();
  const file = path.join(dir, "seed.json");
  fs.writeFileSync(file, seed);
  const res = await sanyao(["init", "--data", path.join(dir, "data"), "--no-demo", "--seed", file]);
  assert.equal(res.code, 2, res.stderr);
  return res.stderr;
}

describe("a refused seed names no personal value", () => {
  const cases: Array<[string, string]> = [
    ["not valid JSON around a name", `{"records": [{"phone": "${PHONE}", "name": '${NAME}', "idcard": "${IDCARD}"}]}`],
    [
      "a record whose identity number is a number",
      `{"records": [{"phone": "${PHONE}", "name": "${NAME}", "idcard": ${IDCARD.slice(0, 17)}1}]}`,
    ],
    ["a phone number written as a field name", `{"accounts": [{"name": "ops", "${PHONE}": 1}]}`],
    ["a scenario whose phone is malformed", `{"scenarios": [{"action": "PhoneVerification", "phone": "${PHONE}99", "result": "-4"}]}`],
  ];
  for (const [what, seed] of cases) {
    it(what, async () => {
      const stderr = await refusal(seed);
      for (const value of [NAME, PHONE, IDCARD, IDCARD.slice(0, 17), PHONE.slice(3)]) {
        assert.equal(stderr.includes(value), false, `${value} in: ${stderr}`);
      }
    });
  }
});
