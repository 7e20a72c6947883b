import { conformanceSuite } from './conformance.ts';

/** Conformance (properties/conformance.ts) of points-deduct, points-add and points-mixed under read committed. */
conformanceSuite('points-read-committed');
