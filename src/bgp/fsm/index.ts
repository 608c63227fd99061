// The pure BGP state machine (RFC 4271 8), capability negotiation and collision resolution, as one import.

export * from './collision.js';
export * from './fsm.js';
export * from './negotiate.js';
export * from './types.js';
