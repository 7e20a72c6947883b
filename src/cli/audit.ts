import { isolationLevels, type IsolationLevel } from '../adapters/backend.ts';
import { createPostgresBackend, type PostgresBackend } from '../adapters/postgres/postgres-backend.ts';
import { provisionPostgres } from '../adapters/postgres/provision.ts';
import { parseInteger, parseRuns } from './options.ts';
import { parseDuration } from '../stress/duration.ts';
import { formatCount, progressPrinter } from './progress.ts';
import { auditStrategy, type AuditRow } from '../explorer/audit.ts';
import { formatAudit, formatAuditMarkdown } from '../explorer/audit-report.ts';
import { renderAuditHtml } from '../reports/audit-html.ts';
import { renderCatalogueHtml } from '../reports/catalogue-html.ts';
import { checkReportFiles, writeReportFile } from './report-files.ts';
import { auditCatalogueEntry, type CatalogueRow } from '../explorer/catalogue-audit.ts';
import { formatCatalogue, formatCatalogueMarkdown } from '../explorer/catalogue-report.ts';
import { InputError } from '../errors.ts';
import { catalogue, findCatalogueEntry, itemsSchema, type CatalogueEntry } from '../model/scenarios/catalogue.ts';
import { openPostgres, releaseOnAbort } from '../adapters/postgres/postgres-target.ts';
import type { CommandIo } from './io.ts';
import { ScenarioRegistry } from './registry.ts';

export interface AuditCommandOptions {
  readonly scenarios: readonly string[];
  readonly catalogue?: boolean;
  readonly anomaly?: string;
  readonly scenario?: string;
  readonly isolation?: string;
  readonly runs: string;
  readonly seed: string;
  readonly replay?: boolean;
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly db?: string;
  readonly report?: string;
  readonly maxTime?: string;
}

/**
 * `lockstep audit`: the matrix of scenarios, strategies and isolation levels.
 * Exit 0 when every verdict is the one the scenario declares (and, with
 * `--replay`, PostgreSQL confirmed every replayed schedule), 1 otherwise.
 */
export async function auditCommand(options: AuditCommandOptions, io: CommandIo): Promise<number> {
  if (options.catalogue) {
    if (options.scenario !== undefined) throw new InputError('--scenario and --catalogue do not go together: the catalogue has its own workloads.');
    if (options.scenarios.length > 0) throw new InputError('--scenarios and --catalogue do not go together: the catalogue has its own workloads.');
    return auditCatalogueCommand(options, io);
  }
  if (options.anomaly !== undefined) throw new InputError('--anomaly needs --catalogue.');
  if (options.json && options.markdown) throw new InputError('Choose one of --json and --markdown.');
  const registry = await ScenarioRegistry.load(options.scenarios, io.cwd);
  const chosen = options.scenario === undefined ? registry.chosen : [registry.get(options.scenario)];
  const levels = selectLevels(options.isolation);
  const runs = parseRuns(options.runs);
  const seed = parseInteger('--seed', options.seed, -(2 ** 31), 2 ** 31 - 1);
  const reportFiles = checkReportFiles({ report: options.report }, io.cwd);
  const work = chosen.flatMap((scenario) =>
    Object.keys(scenario.strategies).flatMap((strategy) => levels.filter((l) => scenario.isolationLevels.includes(l)).map((isolation) => ({ scenario, strategy, isolation }))),
  );
  if (work.length === 0) throw new InputError(`No scenario chosen supports ${options.isolation}.`);
  // --max-time is shared evenly: each combination's search gets its part.
  const maxTimeMs = options.maxTime === undefined ? undefined : Math.max(1, Math.floor(parseDuration('--max-time', options.maxTime) / work.length));
  const rows: AuditRow[] = [];
  let database: string | undefined;
  const progress = progressPrinter(io, 'audit');
  const auditOptions = (w: (typeof work)[number]) => ({
    runs,
    seed,
    maxTimeMs,
    signal: io.signal,
    onProgress: (p: { runs: number }) => progress(`${w.scenario.id} · ${w.strategy} · ${w.isolation} (${rows.length + 1} of ${work.length}), ${formatCount(p.runs)} of ${formatCount(runs)} runs`),
  });
  if (!options.replay) {
    for (const w of work) rows.push(await auditStrategy(w.scenario, w.strategy, w.isolation, auditOptions(w)));
  } else {
    const server = await provisionPostgres({ url: options.db, signal: io.signal });
    const backends: PostgresBackend[] = [];
    const release = async () => {
      try {
        for (const b of backends.splice(0)) await b.close();
      } finally {
        await server.stop();
      }
    };
    const unwatch = releaseOnAbort(io.signal, release);
    try {
      database = `PostgreSQL ${server.version}`;
      for (const scenario of chosen) {
        const mine = work.filter((w) => w.scenario === scenario);
        if (mine.length === 0) continue;
        const backend = await createPostgresBackend(server.url, scenario.schema, { signal: io.signal });
        backends.push(backend);
        database = backend.name;
        for (const w of mine) rows.push(await auditStrategy(w.scenario, w.strategy, w.isolation, auditOptions(w), backend));
        await backend.close();
        backends.splice(backends.indexOf(backend), 1);
      }
    } finally {
      unwatch();
      await release();
    }
  }
  if (options.json) io.stdout(`${JSON.stringify({ rows: rows.map(({ counterexample: _, ...row }) => row) })}\n`);
  else if (options.markdown) io.stdout(`${formatAuditMarkdown(rows, database)}\n`);
  else io.stdout(`${formatAudit(rows, database)}\n`);
  if (reportFiles.html) writeReportFile(reportFiles.html, renderAuditHtml(rows, chosen, { database, runs, seed }));
  const cut = rows.filter((r) => r.stoppedByTime).length;
  if (cut > 0) io.stderr(`--max-time ${options.maxTime} stopped the search of ${cut} of ${rows.length} combinations before ${runs} runs; their passes cover fewer runs.\n`);
  const expected = rows.every((r) => r.expected === undefined || (r.expected === 'passes') === (r.status === 'passed'));
  return expected && rows.every((r) => r.postgres !== 'diverged') ? 0 : 1;
}

/**
 * `lockstep audit --catalogue`: for every anomaly of the catalogue and every
 * isolation level, whether the model allows it and whether PostgreSQL does.
 * Exit 0 when they agree on every row and every replay matched the model, 1
 * otherwise.
 */
export async function auditCatalogueCommand(options: AuditCommandOptions, io: CommandIo): Promise<number> {
  if (options.json && options.markdown) throw new InputError('Choose one of --json and --markdown.');
  const entries = selectEntries(options.anomaly);
  const levels = selectLevels(options.isolation);
  const reportFiles = checkReportFiles({ report: options.report }, io.cwd);
  const target = await openPostgres(itemsSchema, { db: options.db, signal: io.signal });
  const rows: CatalogueRow[] = [];
  try {
    for (const entry of entries) {
      rows.push(...(await auditCatalogueEntry(entry, levels, target.backend)));
    }
  } finally {
    await target.release();
  }
  const database = target.backend.name;
  if (options.json) io.stdout(`${JSON.stringify({ database, rows })}\n`);
  else if (options.markdown) io.stdout(`${formatCatalogueMarkdown(rows, database)}\n`);
  else io.stdout(`${formatCatalogue(rows, database)}\n`);
  if (reportFiles.html) writeReportFile(reportFiles.html, renderCatalogueHtml(rows, entries, database));
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
