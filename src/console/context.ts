/** What the console's routes work with besides the operations API's context: sessions, the sign-in budget, the tokens. */
import type { Tokens } from "../operations/admin-token";
import type { OperationsContext } from "../operations/context";
import type { Sessions } from "./sessions";
import type { SignInBudget } from "./sign-in-budget";

export interface ConsoleParts {
  sessions: Sessions;
  signIns: SignInBudget;
  tokens: Tokens;
}

export interface ConsoleContext extends OperationsContext {
  console: ConsoleParts;
}
