// The wire codecs, as one import.

export { asPathLength, mergeAs4Path } from './attributes/as-path.js';
export {
  type AttributeProblem,
  attributeName,
  decodeAttributes,
  encodeAttributes,
} from './attributes/table.js';
export * from './attributes/types.js';
export * from './capabilities/index.js';
export * from './context.js';
export * from './errors.js';
export * from './framer.js';
export * from './header.js';
export * from './iana.js';
export * from './keepalive.js';
export * from './message.js';
export * from './nlri.js';
export * from './notification.js';
export * from './open.js';
export * from './prefix.js';
export * from './reader.js';
export * from './route-refresh.js';
export * from './update.js';
export * from './update-packer.js';
export * from './writer.js';
