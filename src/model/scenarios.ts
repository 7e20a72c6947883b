import { pointsAdd, pointsDeduct, pointsMixed } from './points.ts';
import type { Scenario } from './scenario.ts';

/** Every scenario lockstep knows, by id, in the order `lockstep list` shows them. */
export const scenarios: readonly Scenario[] = [pointsDeduct, pointsAdd, pointsMixed];

/** The scenario with this id, or undefined. */
export function findScenario(id: string): Scenario | undefined {
  return scenarios.find((s) => s.id === id);
}
