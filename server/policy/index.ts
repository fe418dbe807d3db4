/** The policy engine's public surface. Everything else in this folder is internal. */
export type {
  EnforcerScope,
  HostDirectory,
  PolicyDefaults,
  PolicyEvaluator,
  Recheck,
  RequesterFacts,
} from './api.js';
export { loadPolicyFile, loadPolicyText, type PolicyLoadResult } from './loader.js';
export { compilePolicyData, type CompileOptions } from './compile.js';
export { formatDiagnostic, formatPath, NO_LOCATION, type Diagnostic, type Severity } from './diagnostics.js';
export { PolicyEngine, createEvaluator } from './engine.js';
export type { Explanation, TraceEntry } from './explain.js';
export { PolicyStore, type ReloadResult, type OpenStoreResult } from './policy-store.js';
export { ReferenceEvaluator } from './reference-evaluator.js';
export { buildSyntheticPolicy, type SyntheticPolicy, type SyntheticRequest } from './synthetic.js';
export { DEFAULT_CATALOG, type CatalogEntry } from './default-catalog.js';
export { parseDuration, formatDuration } from './durations.js';
export type { VersionedHostDirectory } from './groups.js';
export {
  buildRequest,
  inventoryDirectory,
  parseSource,
  type HumanRequest,
  type BuiltRequest,
} from './request-spec.js';
export { loadCases, runCase, type PolicyTestCase, type CaseResult } from './test-cases.js';
export {
  DEFAULT_RULE_ID,
  BUILTIN_DEFAULTS,
  type CompiledPolicy,
  type CompiledRule,
  type CompiledGroup,
  type CompiledEnforcer,
  type AppEntry,
  type InventoryHost,
  type Term,
} from './model.js';
