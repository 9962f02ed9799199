/**
 * The console's sources and build, read as files: every string in both languages, the action list the same as the
 * server's, and a built page with no inline script or style (the Content-Security-Policy would refuse them).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { FACEID_ACTIONS } from "../../src/faceid/tariff";
import { CLOUDAUTH_ACTIONS } from "../../src/cloudauth/tariff";
import { repoRoot } from "../helpers/paths";

const strings = (lang: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, "console", "src", "i18n", `${lang}.json`), "utf8"));

describe("console: sources and build", () => {
  it("every string has its English and its Chinese, and nothing is left untranslated", () => {
    const en = strings("en");
    const zh = strings("zh");
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort(), "the same keys in both languages");
    for (const [key, text] of Object.entries(zh)) {
      assert.equal(typeof text, "string", key);
      assert.ok(String(text).trim() !== "", `${key} is empty in Chinese`);
      const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(placeholders(String(text)), placeholders(String(en[key])), `${key}: the same {values} in both`);
    }
    // the navigation's names, as the issue gives them
    assert.deepEqual(
      ["overview", "accounts", "keys", "usage", "requests", "scenarios", "gateway", "records"].map((p) => [en[`nav.${p}`], zh[`nav.${p}`]]),
      [
        ["Overview", "概览"],
        ["Accounts", "账户"],
        ["Keys", "密钥"],
        ["Usage", "用量"],
        ["Requests", "请求"],
        ["Scenarios", "场景"],
        ["Gateway", "网关"],
        ["Records", "记录"],
      ],
    );
  });

  it("every key the sources use is in the tables", () => {
    const en = strings("en");
    const sources = fs
      .readdirSync(path.join(repoRoot, "console", "src"), { recursive: true, encoding: "utf8" })
      .filter((f) => /\.tsx?$/.test(f))
      .map((f) => fs.readFileSync(path.join(repoRoot, "console", "src", f), "utf8"))
      .join("\n");
    const used = new Set([...sources.matchAll(/\bt\("([a-zA-Z]+\.[a-zA-Z]+)"/g)].map((m) => m[1] ?? ""));
    assert.ok(used.size > 100, "the sources were read");
    assert.deepEqual(
      [...used].filter((k) => !(k in en)),
      [],
    );
  });

  it("offers the server's FaceID and Cloudauth actions", () => {
    const source = fs.readFileSync(path.join(repoRoot, "console", "src", "accounts.ts"), "utf8");
    const listed = /export const ACTIONS = \[([\s\S]*?)\]/.exec(source)?.[1] ?? "";
    assert.deepEqual(
      [...listed.matchAll(/"(\w+)"/g)].map((m) => m[1]),
      [...FACEID_ACTIONS, ...CLOUDAUTH_ACTIONS],
    );
  });

  it("builds a page with no inline script or style, its assets named by their content", () => {
    const html = fs.readFileSync(path.join(repoRoot, "dist", "console", "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    for (const [, attributes, body] of scripts) {
      assert.match(attributes ?? "", /src="\/_sanyao\/console\/assets\/console-[A-Z0-9]+\.js"/);
      assert.equal(body?.trim(), "", "no inline script");
    }
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or handler");
    const assets = fs.readdirSync(path.join(repoRoot, "dist", "console", "assets"));
    assert.deepEqual(assets.map((f) => f.replace(/-[A-Z0-9]{8}\./, "-HASH.")).sort(), ["console-HASH.css", "console-HASH.js"]);
    for (const asset of assets) assert.ok(html.includes(`/_sanyao/console/assets/${asset}`), `${asset} is the page's`);
  });
});
