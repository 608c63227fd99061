// The native config: its schema, types, loader and validation. Field by field: docs/config.md.

export {
  type CheckedConfig,
  ConfigError,
  checkConfigFile,
  checkConfigText,
  formatIssue,
  loadConfig,
  parseConfig,
} from './load.js';
export { type ConfigDocument, checkDocument, configSchema } from './schema.js';
export {
  ADD_PATH_MODES,
  type AddPathMode,
  DEFAULTS,
  FAMILY_NAMES,
  type FamilyName,
  formatEndpoint,
  type GracefulRestartConfig,
  LOG_LEVELS,
  type LogLevel,
  type OriginateRoute,
  type PeerConfig,
  peerKey,
  samePeerSettings,
  type TernConfig,
} from './types.js';
export { type ConfigIssue, type ValidationResult, validateConfig } from './validate.js';
