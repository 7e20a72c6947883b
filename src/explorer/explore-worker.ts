import { LockstepError } from '../errors.ts';
import type { Scenario } from '../model/scenario.ts';
import { checkExploreOptions } from './explore-options.ts';
import type { ExploreOptions } from './explore.ts';
import { prepareExploration, type Exploration, type PartResult } from './exploration.ts';
import { scenarioFromModule } from './scenario-module.ts';

/** What a worker thread is asked: parts [from, to) of an exploration of the scenario `scenario` of `module`. */
export interface WorkerTask {
  /** The scenario module, as a file URL. */
  readonly module: string;
  /** The scenario's id in it. */
  readonly scenario: string;
  readonly options: Omit<ExploreOptions, 'scenario'>;
  readonly from: number;
  readonly to: number;
}

/** A worker's answer: the parts' result, or the one sentence of an error a user can cause (its class by name). */
export type WorkerAnswer = { readonly result: PartResult } | { readonly error: { readonly name: string; readonly message: string } };

/**
 * The scenarios this thread has loaded, by module and id: a module is
 * imported once per thread, as the main thread imports it once (tsx's
 * `tsImport` would evaluate a TypeScript module again for every exploration
 * of a kept thread). A failed load is not kept.
 */
const loaded = new Map<string, Promise<Scenario>>();

function scenarioOf(module: string, id: string): Promise<Scenario> {
  const key = JSON.stringify([module, id]);
  let scenario = loaded.get(key);
  if (scenario === undefined) {
    const loading = scenarioFromModule(module, id);
    loading.catch(() => loaded.get(key) === loading && loaded.delete(key));
    loaded.set(key, (scenario = loading));
  }
  return scenario;
}

/**
 * Explorations this thread has prepared, by task options, the last
 * `keptExplorations`: a worker keeps its engine and arbitraries between
 * parts, and between explorations since its pool outlives them
 * (`worker-pool.ts`).
 */
const prepared = new Map<string, Promise<Exploration>>();
const keptExplorations = 4;

/**
 * The task function of the worker pool (`parallel.ts`): loads the scenario
 * from its module once, then runs the parts it is given. Errors a user can
 * cause come back as their name and sentence, since a class does not cross
 * threads.
 */
export default async function exploreParts(task: WorkerTask): Promise<WorkerAnswer> {
  const key = JSON.stringify([task.module, task.scenario, task.options]);
  try {
    let exploration = prepared.get(key);
    if (exploration === undefined) {
      const preparing = scenarioOf(task.module, task.scenario).then((scenario) => {
        const options = { ...task.options, scenario };
        checkExploreOptions(options);
        return prepareExploration(options);
      });
      // A failure is not kept: the next exploration tries again.
      preparing.catch(() => prepared.get(key) === preparing && prepared.delete(key));
      exploration = preparing;
      prepared.set(key, exploration);
      if (prepared.size > keptExplorations) prepared.delete(prepared.keys().next().value!);
    } else {
      // The most recently used last.
      prepared.delete(key);
      prepared.set(key, exploration);
    }
    const ready = await exploration;
    // A turn of the event loop first: a chunk queued behind another in this thread must not run before the other's answer is sent.
    await new Promise((resolve) => setImmediate(resolve));
    return { result: ready.run(task.from, task.to) };
  } catch (e) {
    // An exploration that threw (a program's DefinitionError, say) is not kept: the next one starts clean.
    prepared.delete(key);
    if (e instanceof LockstepError) return { error: { name: e.name, message: e.message } };
    throw e;
  }
}
