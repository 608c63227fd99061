// tern-bgp: the library entry point.

export { messageFromJson, messageToJson } from './bgp/json/index.js';
export * from './bgp/messages/index.js';
