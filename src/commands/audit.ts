import { isolationLevels, type IsolationLevel } from '../adapters/backend.ts';
import { auditCatalogueEntry, type CatalogueRow } from '../explorer/catalogue-audit.ts';
import { formatCatalogue, formatCatalogueMarkdown } from '../explorer/catalogue-report.ts';
import { InputError } from '../input-error.ts';
import { catalogue, findCatalogueEntry, itemsSchema, type CatalogueEntry } from '../model/catalogue.ts';
import { openPostgres } from './postgres-target.ts';

export interface AuditCommandOptions {
  readonly catalogue?: boolean;
  readonly anomaly?: string;
  readonly isolation?: string;
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly db?: string;
}

/**
 * `lockstep audit --catalogue`: for every anomaly of the catalogue and every
 * isolation level, whether the model allows it and whether PostgreSQL does.
 * Exit 0 when they agree on every row and every replay matched the model, 1
 * otherwise.
 */
export async function auditCatalogueCommand(options: AuditCommandOptions): Promise<number> {
  if (options.json && options.markdown) throw new InputError('Choose one of --json and --markdown.');
  const entries = selectEntries(options.anomaly);
  const levels = selectLevels(options.isolation);
  const target = await openPostgres(itemsSchema, options.db);
  const rows: CatalogueRow[] = [];
  try {
    for (const entry of entries) {
      rows.push(...(await auditCatalogueEntry(entry, levels, target.backend, target.sql)));
    }
  } finally {
    await target.release();
  }
  const database = target.backend.name;
  if (options.json) process.stdout.write(`${JSON.stringify({ database, rows })}\n`);
  else if (options.markdown) process.stdout.write(`${formatCatalogueMarkdown(rows, database)}\n`);
  else process.stdout.write(`${formatCatalogue(rows, database)}\n`);
  return rows.every((r) => r.model === r.postgres && r.conformance === 'confirmed') ? 0 : 1;
}

function selectEntries(anomaly: string | undefined): readonly CatalogueEntry[] {
  if (anomaly === undefined) return catalogue;
  const entry = findCatalogueEntry(anomaly);
  if (!entry) throw new InputError(`Unknown anomaly "${anomaly}"; the catalogue has ${catalogue.map((e) => e.anomaly).join(', ')}.`);
  return [entry];
}

function selectLevels(isolation: string | undefined): readonly IsolationLevel[] {
  if (isolation === undefined) return isolationLevels;
  if (!isolationLevels.includes(isolation as IsolationLevel)) throw new InputError(`Unknown isolation level "${isolation}"; choose one of ${isolationLevels.join(', ')}.`);
  return [isolation as IsolationLevel];
}
