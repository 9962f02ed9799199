/**
 * checkName's shortcut for names of the common ideographs (rules/name.ts) answers what every step of §2.3 answers:
 * for each of U+4E00–U+9FFF alone, for names of one to 33 of them under both policies, and for near misses that must
 * take the long way (a dot, a space, a variation selector, a compatibility ideograph, a full-width digit).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { checkAnyName, checkName } from "../src/rules/name";
import { defaultPolicy, type PrecheckPolicy } from "../src/rules/policy";

const policies: PrecheckPolicy[] = [defaultPolicy, { ...defaultPolicy, minHanChars: 1 }];

it("agrees with every step of §2.3 on each common ideograph alone", () => {
  for (const policy of policies) {
    for (let c = 0x4e00; c <= 0x9fff; c++) {
      const name = String.fromCodePoint(c);
      assert.deepEqual(checkName(name, policy), checkAnyName(name, policy), `U+${c.toString(16)}`);
    }
  }
});

it("agrees on names of 1 to 33 ideographs and on near misses", () => {
  // a deterministic spread of ideographs, so a failure names the same input every run
  let seed = 7;
  const ideograph = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return String.fromCodePoint(0x4e00 + (seed % (0x9fff - 0x4e00 + 1)));
  };
  const names: string[] = [];
  for (let length = 1; length <= 33; length++) {
    for (let k = 0; k < 20; k++) names.push(Array.from({ length }, ideograph).join(""));
  }
  names.push(
    "张三丰",
    "欧阳娜娜",
    "张·三",
    "张 三",
    " 张三",
    "张三\uFE00",
    "張三",
    "\uF900三",
    "张3",
    "张\uFF13",
    "\u3007三",
    "\u4DFF三",
    "\uA000三",
    "",
  );
  for (const policy of policies) {
    for (const name of names) assert.deepEqual(checkName(name, policy), checkAnyName(name, policy), JSON.stringify(name));
  }
  assert.equal(checkName("张三", defaultPolicy).kind, "ok");
  assert.deepEqual(checkName("张", defaultPolicy), { kind: "invalid", reason: "too short" });
  assert.deepEqual(checkName("张".repeat(33), defaultPolicy), { kind: "invalid", reason: "too long" });
});
