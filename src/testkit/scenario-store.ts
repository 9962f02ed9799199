/** Adding and listing scenarios in the store, for the operations API (the CLI goes through it). */
import type { Keyring } from "../common/keyring";
import type { ScenarioRows } from "../store/ports";
import type { Accounts } from "../store/storage";
import { newScenarioRow, parseScenario, type Scenario, type ScenarioInput, ScenarioInputError, scenarioOf } from "./scenario";

export interface ScenarioStore {
  rows: ScenarioRows;
  accounts: Pick<Accounts, "get">;
  keyring: Keyring;
}

export async function addScenario(store: ScenarioStore, input: ScenarioInput): Promise<Scenario> {
  const spec = parseScenario(input, store.keyring);
  if (!(await store.accounts.get(spec.accountId))) throw new ScenarioInputError(`No account ${spec.accountId}.`);
  const row = newScenarioRow(spec);
  await store.rows.insert(row);
  return scenarioOf(row);
}

/**
 * The scenarios that can still take a call. One whose uses are all taken is done, as if removed: listed, it would
 * read as armed; the calls it took name it in the request log.
 */
export async function listScenarios(rows: ScenarioRows, accountId?: string): Promise<Scenario[]> {
  const live = (await rows.list()).map(scenarioOf).filter((s) => s.remaining !== 0);
  return accountId === undefined ? live : live.filter((s) => s.accountId === accountId);
}
