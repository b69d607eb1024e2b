/**
 * Self-tests a user can run against an install: the ops.json runner (`hero selftest ops`) checks
 * every op of a backend against the PyTorch reference cases. It sits above the tensor package,
 * which ships no test harness.
 */
export {
  type CaseResult,
  type FixtureReport,
  fixtureOps,
  type OpsCase,
  type OpsFixtureFile,
  runOpsCase,
  runOpsFixtures,
} from "./ops-fixtures.js";
