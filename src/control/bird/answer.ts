// The reply to each command but `configure` (which waits for the daemon's reload: see server.ts), from a
// BirdSource. BIRD's own replies for the same situations: 9002 for a name that is no protocol in
// `show protocols`, 9001 in `show route protocol`, 8003 when a pattern matches nothing, 8001 when
// `show route <prefix>` / `for` finds nothing.

import type { BirdCommand } from './commands.js';
import { patternMatches } from './commands.js';
import { errorReply, memoryReply, protocolsReply, type Reply, routesReply, statusReply } from './format.js';
import { Code } from './reply.js';
import type { BirdSource } from './source.js';

export function answer(
  cmd: Exclude<BirdCommand, { kind: 'configure' | 'restrict' }>,
  source: BirdSource,
  now: number,
): Reply {
  switch (cmd.kind) {
    case 'show status':
      return statusReply(source.status(now));
    case 'show memory':
      return memoryReply(source.memory());
    case 'show protocols': {
      if (cmd.name !== undefined && !source.isProtocol(cmd.name)) {
        return errorReply(Code.INVALID_SYMBOL, `${cmd.name} is not a protocol`);
      }
      let list = source.protocols(cmd.all);
      if (cmd.name !== undefined) list = list.filter((p) => p.name === cmd.name);
      if (cmd.pattern !== undefined) list = list.filter((p) => patternMatches(cmd.pattern!, p.name));
      if (cmd.name !== undefined && list.length === 0) {
        // a peer of the other address family: not in this daemon's configuration, as with Calico's bird6
        return errorReply(Code.INVALID_SYMBOL, `${cmd.name} is not a protocol`);
      }
      return protocolsReply(list, cmd.all, now);
    }
    case 'show route': {
      const q = cmd.query;
      if (q.protocol !== undefined && !source.isProtocol(q.protocol)) {
        return errorReply(Code.PARSE_ERROR, `${q.protocol} is not a protocol`);
      }
      // tern keeps no routes that an import filter rejected
      const nets = q.filtered ? [] : source.nets(q.prefix);
      return routesReply(
        nets,
        {
          ...(q.protocol !== undefined ? { protocol: q.protocol } : {}),
          all: q.all,
          primary: q.primary,
          count: q.count,
          single: q.prefix !== undefined,
        },
        now,
      );
    }
  }
}
