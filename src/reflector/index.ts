// RFC 4456 route reflection (pure rules; the speaker applies them).

export {
  canReflect,
  isReflectionLoop,
  needsReflection,
  type ReflectionLoop,
  type ReflectorConfig,
  reflectAttributes,
  reflectorConfig,
} from './rules.js';
