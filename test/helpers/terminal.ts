/**
 * The `sanyao` command on a real terminal: run under util-linux `script`, which gives it a pseudo-terminal (so
 * stderr.isTTY is true, as for an operator), and the bytes it wrote played onto a screen to see what is left.
 */
import { spawn } from "node:child_process";
import { BIN } from "./cli";
import { repoRoot } from "./paths";

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

export interface TerminalRun {
  code: number | null;
  /** every byte the command wrote to its terminal, stdout and stderr as they interleaved */
  bytes: string;
}

/** Runs `sanyao ARGS` on a pseudo-terminal; `onOutput` sees the output so far and may type into the terminal. */
export function sanyaoOnTerminal(args: string[], onOutput?: (soFar: string, type: (keys: string) => void) => void): Promise<TerminalRun> {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"] });
  let bytes = "";
  const type = (keys: string) => child.stdin.write(keys);
  child.stdout.on("data", (c: Buffer) => {
    bytes += c.toString("utf8");
    onOutput?.(bytes, type);
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, bytes })));
}

/**
 * The lines left on the screen after `bytes` were written to it: text, carriage returns and newlines, and the
 * control sequences a progress bar uses (cursor to a column, erase in line, save and restore the cursor). Others
 * (cursor visibility, line wrapping) move nothing and are skipped.
 */
export function screen(bytes: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  const chars = [...bytes];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    lines[row] ??= [];
    const line = lines[row] ?? [];
    if (c === "\x1b") {
      const next = chars[i + 1];
      if (next === "7" || next === "8") {
        if (next === "7") saved = { row, col };
        else ({ row, col } = saved);
        i++;
        continue;
      }
      const csi = /^\[([?\d;]*)([A-Za-z])/.exec(chars.slice(i + 1, i + 24).join(""));
      if (!csi) continue;
      i += csi[0].length;
      const [, params = "", command] = csi;
      if (command === "G") col = Math.max(0, Number(params || 1) - 1);
      else if (command === "K") {
        const mode = Number(params || 0);
        if (mode === 0) line.length = Math.min(line.length, col);
        else if (mode === 1) for (let x = 0; x <= col && x < line.length; x++) line[x] = " ";
        else line.length = 0;
      }
      continue;
    }
    if (c === "\r") col = 0;
    else if (c === "\n") {
      row++;
      lines[row] ??= [];
    } else {
      while (line.length < col) line.push(" ");
      line[col] = c;
      col++;
    }
  }
  return lines.map((l) => l.join("").trimEnd());
}
