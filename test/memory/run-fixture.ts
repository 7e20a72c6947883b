import type { IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import type { RowChain } from '../../src/adapters/memory/mvcc.ts';
import { newXact, Run, tableDefinitions, type RaceResolver } from '../../src/adapters/memory/run.ts';
import type { Xact } from '../../src/adapters/memory/xact.ts';
import type { Row, Tables } from '../../src/model/schema.ts';
import { bank, seed } from './fixture.ts';

/** The bank schema's tables as the engine defines them. */
export const bankTables = tableDefinitions(bank);

/** A fresh run over the bank schema holding `tables` (the seed unless given), for testing the engine's parts without the step loop. */
export function runAt(isolation: IsolationLevel, options: { tables?: Tables; resolveRace?: RaceResolver; recordHistory?: boolean } = {}): Run {
  const seedXact = newXact(1, 0, 'read-committed', false);
  seedXact.status = 'committed';
  return new Run(bankTables, options.tables ?? seed(), isolation, seedXact, options.resolveRace, options.recordHistory ?? false);
}

/** The row of `table` whose primary key `id` is `id` (in any version). */
export function chainOf(run: Run, table: string, id: number): RowChain {
  const chain = run.table(table).rows.find((c) => c.versions.some((v) => v.data.id === id));
  if (!chain) throw new Error(`no row ${id} in ${table}`);
  return chain;
}

/** A transaction of `run` for workload transaction `tx`, as the step loop opens it. */
export function open(run: Run, tx: TxId): Xact {
  const xact = run.begin(tx);
  run.slot(tx).xact = xact;
  return xact;
}

/** Writes a new version `data` of `chain` by `xact`, as an UPDATE does once it holds the row lock. */
export function writeVersion(chain: RowChain, xact: Xact, data: Row): void {
  chain.versions[chain.versions.length - 1].xmax = xact;
  const line = chain.versions[chain.versions.length - 1].line + 100; // past every seed row's line pointer
  chain.versions.push({ data, xmin: xact, xmax: null, line, root: line });
  xact.writes.push(chain);
}
