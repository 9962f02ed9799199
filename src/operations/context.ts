/** What the operations routes work with: the store and the running server's parts they show or change. */
import type { GatewaySettings } from "../admin/gateway";
import type { OverviewAnswers } from "../admin/overview-answers";
import type { Keyring } from "../common/keyring";
import type { NewAccountDefaults } from "../store/model";
import type { Storage } from "../store/storage";
import type { ScenarioBook } from "../testkit/scenario-book";
import type { Diagnoses } from "./diagnoses";
import type { RecentFailures } from "./recent-failures";
import type { RecordImports } from "./record-imports";
import type { RequestLog } from "./request-log";

export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface OperationsContext {
  store: Storage;
  keyring: Keyring;
  /** what a new account starts with */
  accountDefaults: NewAccountDefaults;
  gateway: GatewaySettings;
  /** the server's clock (a moved one included), ms */
  clock: () => number;
  /** the scenarios as the server holds them: read again at once after a change */
  scenarios: ScenarioBook;
  requests: RequestLog;
  diagnoses: Diagnoses;
  metrics: { text(): Promise<string>; contentType: string };
  /** every dependency answering, or which one is not */
  readiness(): Promise<Readiness>;
  /** the overview's answers, counted through its hourly rollup and kept a few seconds */
  overview: OverviewAnswers;
  /** records imported from the browser, as jobs */
  imports: RecordImports;
  /** this process's last background failures */
  failures: RecentFailures;
  /** the error code the upstream refused the company key with, while its last answer was that refusal */
  upstreamKeyRefused(): string | undefined;
  /** the upstream slots this process took in each of the last 60 seconds, oldest first */
  upstreamSlotUse(): Array<{ at: string; used: number }>;
}
