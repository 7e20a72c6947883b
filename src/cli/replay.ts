import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { readCounterexample, readCounterexampleJson, type Counterexample } from '../explorer/counterexample.ts';
import { checkOnModel, replayCounterexample } from '../explorer/replay-counterexample.ts';
import { formatReplayReport } from '../explorer/replay-report.ts';
import { replayMarkdown } from '../reports/markdown.ts';
import { checkReportFiles, writeReplayReports } from './report-files.ts';
import type { Scenario } from '../model/scenario.ts';
import { counterexampleSpec } from '../explorer/counterexample-spec.ts';
import type { CommandIo } from './io.ts';
import { ScenarioRegistry } from './registry.ts';
import { loadScenarioFile } from './scenario-files.ts';

/** Options of `lockstep replay`, as commander passes them. */
export interface ReplayCommandOptions {
  readonly scenarios: readonly string[];
  readonly db?: string;
  readonly json?: boolean;
  readonly emitSpec?: string;
  readonly markdown?: boolean;
  readonly report?: string;
  readonly svg?: string;
}

/** `lockstep replay <file> [--scenarios FILE] [--db URL] [--json] [--emit-spec FILE]`: exit 0 confirmed, 1 diverged. */
export async function replayCommand(file: string, options: ReplayCommandOptions, io: CommandIo): Promise<number> {
  if (options.json && options.markdown) throw new InputError('Choose one of --json and --markdown.');
  const reportFiles = checkReportFiles(options, io.cwd, [
    { what: 'the counterexample file', path: file },
    { what: '--emit-spec', path: options.emitSpec },
  ]);
  const { cx, scenario } = await readWithScenario(file, options.scenarios, io.cwd);
  if (options.emitSpec !== undefined) writeSpecFile(options.emitSpec, cx, scenario, io.cwd);
  const report = await replayCounterexample(cx, { db: options.db, scenario, signal: io.signal });
  const rerun = `npx lockstep replay ${file}${options.scenarios.map((s) => ` --scenarios ${s}`).join('')}`;
  writeReplayReports(reportFiles, report, cx, scenario, rerun);
  if (options.markdown) io.stdout(replayMarkdown(report, cx, { rerun }));
  else io.stdout(options.json ? `${JSON.stringify(report)}\n` : `${formatReplayReport(report, cx)}\n`);
  return report.status === 'confirmed' ? 0 : 1;
}

/**
 * Reads a counterexample file and finds its scenario: among the built-in
 * ones, `--scenarios` files and `lockstep.config`, else in the scenario file
 * the counterexample recorded (relative to its own folder).
 */
async function readWithScenario(file: string, scenarioFiles: readonly string[], cwd: string): Promise<{ cx: Counterexample; scenario: Scenario }> {
  const path = resolve(cwd, file);
  const data = readCounterexampleJson(path, file);
  const registry = await ScenarioRegistry.load(scenarioFiles, cwd);
  let known = registry.all;
  if (!known.some((s) => s.id === data.scenario) && data.scenarioFile !== undefined) {
    const recorded = resolve(dirname(path), data.scenarioFile);
    const shown = relative(cwd, recorded) || recorded;
    try {
      known = [...known, ...(await loadScenarioFile(recorded, cwd, shown)).map((l) => l.scenario)];
    } catch (e) {
      if (e instanceof InputError && e.message.endsWith('no such file.')) {
        throw new InputError(`The scenario file ${shown} that ${file} was written from is gone; point --scenarios at the file that defines ${data.scenario}.`);
      }
      throw e;
    }
  }
  const cx = readCounterexample(path, known, file);
  return { cx, scenario: known.find((s) => s.id === cx.scenario)! };
}

/** `--emit-spec FILE`: the counterexample as an isolationtester spec file, written before the replay. */
function writeSpecFile(path: string, cx: Counterexample, scenario: Scenario, cwd: string): void {
  checkOnModel(cx, scenario);
  try {
    writeFileSync(resolve(cwd, path), counterexampleSpec(cx, scenario));
  } catch (e) {
    throw new InputError(`Cannot write the spec to ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'its folder does not exist' : (e as Error).message}.`);
  }
}
