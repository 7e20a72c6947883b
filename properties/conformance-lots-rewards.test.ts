import { conformanceSuite } from './conformance.ts';

/** Conformance (properties/conformance.ts) of points-read-during-update, the points lot scenarios and the reward scenarios. */
conformanceSuite('lots-rewards');
