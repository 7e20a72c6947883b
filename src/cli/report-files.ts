import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkWritable } from './options.ts';
import type { CommandIo } from './io.ts';
import { InputError } from '../errors.ts';
import type { Counterexample } from '../explorer/counterexample.ts';
import type { ExploreReport } from '../explorer/explore.ts';
import type { ReplayReport } from '../explorer/replay.ts';
import type { Scenario } from '../model/scenario.ts';
import { renderExploreHtml } from '../reports/counterexample-html.ts';
import { renderCounterexampleSvg } from '../reports/counterexample-svg.ts';
import { renderReplayHtml } from '../reports/replay-html.ts';
import { renderReplaySvg } from '../reports/replay-svg.ts';

/** The report files a command was asked to write (`--report FILE.html`, `--svg FILE`), checked for writability before any work. */
export interface ReportFiles {
  readonly html?: string;
  readonly svg?: string;
}

/**
 * Checks `--report` and `--svg` before a command does its work, so a long run
 * is not wasted on an unwritable path, and so no report replaces a file the
 * command reads or writes (`others`: the counterexample file, `--out`, ...).
 */
export function checkReportFiles(
  options: { readonly report?: string; readonly svg?: string },
  cwd: string,
  others: readonly { readonly what: string; readonly path: string | undefined }[] = [],
): ReportFiles {
  const at = (path: string) => resolve(cwd, checkWritable(path, cwd));
  const named = [
    { what: '--report', path: options.report },
    { what: '--svg', path: options.svg },
    ...others,
  ].filter((n): n is { what: string; path: string } => n.path !== undefined);
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      if (i < 2 && resolve(cwd, named[i].path) === resolve(cwd, named[j].path)) {
        throw new InputError(`${named[i].what} and ${named[j].what} name the same file; give each its own.`);
      }
    }
  }
  return { ...(options.report !== undefined ? { html: at(options.report) } : {}), ...(options.svg !== undefined ? { svg: at(options.svg) } : {}) };
}

/** Writes a report; a failure is an input error naming the file. */
export function writeReportFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new InputError(`Cannot write the report to ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
}

/** `explore --report/--svg`: the exploration's page (with its replay, given one), and its counterexample's drawing (none when it passed: said on stderr). */
export function writeExploreReports(files: ReportFiles, report: ExploreReport, scenario: Scenario, rerun: string, io: Pick<CommandIo, 'stderr'>, replay?: ReplayReport): void {
  if (files.html) writeReportFile(files.html, renderExploreHtml(report, scenario, { rerun, ...(replay ? { replay } : {}) }));
  if (!files.svg) return;
  if (report.counterexample) writeReportFile(files.svg, renderCounterexampleSvg(report.counterexample, scenario));
  else io.stderr(`No counterexample to draw: ${files.svg} was not written.\n`);
}

/** `replay --report/--svg`: the replay's page and drawing. */
export function writeReplayReports(files: ReportFiles, report: ReplayReport, cx: Counterexample, scenario: Scenario, rerun: string): void {
  if (files.html) writeReportFile(files.html, renderReplayHtml(report, cx, scenario, { rerun }));
  if (files.svg) writeReportFile(files.svg, renderReplaySvg(report, cx));
}
