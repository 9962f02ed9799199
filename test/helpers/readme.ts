/** The table of demo calls in docs/getting-started.md (between its demo-table markers), read for the tests that run it. */
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "./paths";
import { type FaceIdActionName, isFaceIdActionName } from "./sdk";

export interface DemoRow {
  action: FaceIdActionName;
  request: Record<string, unknown>;
  result: string;
  note: string;
}

export function readmeDemoRows(): DemoRow[] {
  const readme = fs.readFileSync(path.join(repoRoot, "docs", "getting-started.md"), "utf8");
  const table = readme.split("<!-- demo-table: begin -->")[1]?.split("<!-- demo-table: end -->")[0] ?? "";
  return table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| action") && !line.startsWith("|---"))
    .map((line) => {
      const [action = "", request = "", result = "", note = ""] = line.split(" | ").map((c) => c.replace(/^\| ?| ?\|$/g, "").trim());
      if (!isFaceIdActionName(action)) throw new Error(`docs/getting-started.md demo table: ${action} is not a FaceID action`);
      return { action, request: JSON.parse(request.replace(/^`|`$/g, "")), result: result.replace(/`/g, ""), note };
    });
}
