/** Public surface of the firewall enforcers. */
export type {
  ApplyBatch,
  Enforcer,
  EnforcerLease,
  EnforcerRule,
  LeaseCounter,
  Protocol,
  ReconcileReport,
} from './types.js';
export { EnforcerError, isEnforcerError, type EnforcerErrorCode } from './errors.js';
export { NftEnforcer, type NftEnforcerOptions } from './nft-enforcer.js';
export type { TamperWatch, WatchTamperOptions } from './tamper-watch.js';
export { CommandEnforcer, type CommandEnforcerOptions } from './command-enforcer.js';
export {
  renderTable,
  renderBatch,
  renderAdds,
  renderDeletes,
  timeoutSeconds,
  TABLE_FAMILY,
  TABLE_NAME,
  type EnforcerMode,
  type ElementAdd,
  type ElementDelete,
  type TableConfig,
} from './nft-ruleset.js';
