/**
 * The web console, plugged into the operations API from outside its core: its sign-in routes join the route
 * table, its session cookie joins the bearer tokens as a way to tell who calls, and its files are served beside
 * the table under /_sanyao/console/. The console itself is a client of the operations API and of nothing else.
 */
import type { Tokens } from "../operations/admin-token";
import { byTokens, type Dispatch } from "../operations/dispatch";
import type { SessionRows } from "../store/ports";
import { consoleAssets } from "./assets";
import type { ConsoleParts } from "./context";
import { consoleIdentify } from "./identify";
import { sessionRoutes } from "./session-routes";
import { Sessions } from "./sessions";
import { SignInBudget } from "./sign-in-budget";

export type { ConsoleContext } from "./context";

/** The routes the console adds to the operations API's table. */
export const CONSOLE_ROUTES = sessionRoutes;

export interface ConsoleOptions {
  sessions: SessionRows;
  tokens: Tokens;
  /** the server's clock (a moved one included) */
  clock: () => number;
  /** the built files (SANYAO_CONSOLE_DIR) */
  dir: string;
}

export function consolePlugin(options: ConsoleOptions) {
  const parts: ConsoleParts = {
    sessions: new Sessions(options.sessions, options.clock, options.tokens),
    signIns: new SignInBudget(options.clock),
    tokens: options.tokens,
  };
  const assets = consoleAssets(options.dir);
  // the dispatcher's rule: no token, no operations API, and every /_sanyao/ path (the console's files too) is its 404
  const { apiOn } = byTokens(options.tokens);
  return {
    parts,
    identify: consoleIdentify(parts),
    /** the dispatcher, with the console's files served first on a listener that serves the operations API (when on) */
    serveFiles:
      (dispatch: Dispatch): Dispatch =>
      (req, res, path, rawQuery, serves) =>
        serves.operations && apiOn && assets(req, res, path) ? Promise.resolve() : dispatch(req, res, path, rawQuery, serves),
  };
}
