// The RFC 4271 section 8 state machine: scenarios walked event by event, with the exact actions.

import { describe, expect, it } from 'vitest';
import { resolveCollision } from '../../src/bgp/fsm/collision.js';
import {
  ADMINISTRATIVE_SHUTDOWN,
  connectRetrySeconds,
  describeNotification,
  initialSession,
  transition,
} from '../../src/bgp/fsm/fsm.js';
import { negotiate } from '../../src/bgp/fsm/negotiate.js';
import type { FsmAction, FsmConfig, FsmEvent, FsmSession, FsmState } from '../../src/bgp/fsm/types.js';
import {
  MessageHeaderError,
  OpenMessageError,
  RouteRefreshError,
  UpdateMessageError,
} from '../../src/bgp/messages/errors.js';
import { KEEPALIVE } from '../../src/bgp/messages/keepalive.js';
import { type NotificationMessage, shutdownNotification } from '../../src/bgp/messages/notification.js';
import type { RouteRefreshMessage } from '../../src/bgp/messages/route-refresh.js';
import { endOfRib } from '../../src/bgp/messages/update.js';
import {
  actionTypes,
  drive,
  ev,
  fsmConfig,
  LOCAL_ID,
  LOCAL_OPEN,
  openFrom,
  PEER_AS,
  PEER_ID,
  PEER_OPEN,
} from '../helpers/fsm.js';

const config = fsmConfig();
const passive = fsmConfig({ passive: true });
const UPDATE = endOfRib(1, 1);
const REFRESH: RouteRefreshMessage = { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 };
const NEGOTIATED = negotiate(LOCAL_OPEN, PEER_OPEN, config);

const notification = (code: number, subcode: number, data: number[] = []): FsmAction => ({
  type: 'send',
  message: { type: 'notification', code, subcode, data: new Uint8Array(data) },
});
const start = (timer: 'connectRetry' | 'hold' | 'keepalive' | 'idleHold', seconds: number): FsmAction => ({
  type: 'startTimer',
  timer,
  seconds,
});
const stop = (timer: 'connectRetry' | 'hold' | 'keepalive' | 'idleHold'): FsmAction => ({
  type: 'stopTimer',
  timer,
});
const idleAfter = (connectRetryCounter: number, idleHoldTime: number, lastError: string): FsmSession => ({
  state: 'Idle',
  connectRetryCounter,
  idleHoldTime,
  lastError,
});
const CLOSE: FsmAction = { type: 'close' };
const CONNECT: FsmAction = { type: 'connect' };
const SEND_OPEN: FsmAction = { type: 'send', message: LOCAL_OPEN };
const SEND_KEEPALIVE: FsmAction = { type: 'send', message: KEEPALIVE };

/** Events that take a fresh session to `state` (active peer unless `cfg` is passive). */
function pathTo(state: FsmState, cfg: FsmConfig = config, now = 0): FsmEvent[] {
  const path: FsmEvent[] = [
    ev('ManualStart', { now }),
    ev(cfg.passive ? 'TcpConnectionConfirmed' : 'TcpConnectionUp', { now }),
    ev('OpenMsg', { open: PEER_OPEN, now }),
    ev('KeepaliveMsg', { now }),
  ];
  if (state === 'Active' && !cfg.passive) {
    return [ev('ManualStart', { now }), ev('TcpConnectionFails', { reason: 'refused', now })];
  }
  const reached = ['Idle', cfg.passive ? 'Active' : 'Connect', 'OpenSent', 'OpenConfirm', 'Established'];
  return path.slice(0, reached.indexOf(state));
}

function sessionIn(state: FsmState, cfg: FsmConfig = config, now = 0): FsmSession {
  const s = drive(initialSession(cfg), pathTo(state, cfg, now), cfg).session;
  expect(s.state).toBe(state);
  return s;
}

/** One transition from `state`. */
function from(state: FsmState, event: FsmEvent, cfg: FsmConfig = config) {
  return transition(sessionIn(state, cfg), event, cfg);
}

describe('initialSession', () => {
  it('is Idle with the minimum idle hold time', () => {
    expect(initialSession(config)).toEqual({ state: 'Idle', connectRetryCounter: 0, idleHoldTime: 5 });
  });
});

describe('happy path', () => {
  it('active: Idle -> Connect -> OpenSent -> OpenConfirm -> Established', () => {
    let s = initialSession(config);
    const step = (e: FsmEvent, state: FsmState, actions: FsmAction[]) => {
      const t = transition(s, e, config);
      expect(t.session.state).toBe(state);
      expect(t.actions).toEqual(actions);
      s = t.session;
    };
    // random 0.5: 120 * (0.75 + 0.125)
    step(ev('ManualStart'), 'Connect', [stop('idleHold'), start('connectRetry', 105), CONNECT]);
    step(ev('TcpConnectionUp'), 'OpenSent', [stop('connectRetry'), SEND_OPEN, start('hold', 240)]);
    step(ev('OpenMsg', { open: PEER_OPEN }), 'OpenConfirm', [
      SEND_KEEPALIVE,
      start('hold', 90),
      start('keepalive', 30),
    ]);
    expect(s.peerOpen).toBe(PEER_OPEN);
    expect(s.negotiated).toEqual(NEGOTIATED);
    step(ev('KeepaliveMsg', { now: 7000 }), 'Established', [
      start('hold', 90),
      { type: 'sessionUp', negotiated: NEGOTIATED, peerOpen: PEER_OPEN },
    ]);
    expect(s.establishedAt).toBe(7000);
    step(ev('KeepaliveTimerExpires'), 'Established', [SEND_KEEPALIVE, start('keepalive', 30)]);
    step(ev('KeepaliveMsg'), 'Established', [start('hold', 90)]);
    step(ev('UpdateMsg', { update: UPDATE }), 'Established', [
      start('hold', 90),
      { type: 'deliver', message: UPDATE },
    ]);
    step(ev('RouteRefreshMsg', { refresh: REFRESH }), 'Established', [
      start('hold', 90),
      { type: 'deliver', message: REFRESH },
    ]);
    expect(s.connectRetryCounter).toBe(0);
  });

  it('passive: Idle -> Active -> OpenSent -> OpenConfirm -> Established, never connecting', () => {
    const { session, steps } = drive(
      initialSession(passive),
      [
        ev('ManualStart', { random: 0 }),
        ev('ConnectRetryTimerExpires', { random: 0 }),
        ev('TcpConnectionConfirmed'),
        ev('OpenMsg', { open: PEER_OPEN }),
        ev('KeepaliveMsg'),
      ],
      passive,
    );
    expect(steps.map((t) => t.session.state)).toEqual([
      'Active',
      'Active',
      'OpenSent',
      'OpenConfirm',
      'Established',
    ]);
    expect(steps[0]!.actions).toEqual([stop('idleHold'), start('connectRetry', 90)]);
    expect(steps[1]!.actions).toEqual([start('connectRetry', 90)]);
    expect(steps[2]!.actions).toEqual([stop('connectRetry'), SEND_OPEN, start('hold', 240)]);
    expect(steps.flatMap((t) => t.actions).some((a) => a.type === 'connect')).toBe(false);
    expect(session.state).toBe('Established');
  });

  it('an incoming connection in Connect is taken as well (Event 17)', () => {
    const t = from('Connect', ev('TcpConnectionConfirmed'));
    expect(t.session.state).toBe('OpenSent');
    expect(t.actions).toEqual([stop('connectRetry'), SEND_OPEN, start('hold', 240)]);
  });

  it('Active + an outgoing or incoming connection -> OpenSent', () => {
    for (const type of ['TcpConnectionUp', 'TcpConnectionConfirmed'] as const) {
      const t = from('Active', ev(type));
      expect(t.session.state).toBe('OpenSent');
      expect(t.actions).toEqual([stop('connectRetry'), SEND_OPEN, start('hold', 240)]);
    }
  });

  it('hold time 0: no hold or keepalive timers at all', () => {
    const open = openFrom(PEER_AS, PEER_ID, { holdTime: 0 });
    const { steps } = drive(
      sessionIn('OpenSent'),
      [
        ev('OpenMsg', { open }),
        ev('KeepaliveMsg'),
        ev('KeepaliveMsg'),
        ev('UpdateMsg', { update: UPDATE }),
        ev('KeepaliveTimerExpires'),
      ],
      config,
    );
    expect(steps.map((t) => t.actions)).toEqual([
      [SEND_KEEPALIVE, stop('hold')],
      [{ type: 'sessionUp', negotiated: negotiate(LOCAL_OPEN, open, config), peerOpen: open }],
      [],
      [{ type: 'deliver', message: UPDATE }],
      [SEND_KEEPALIVE],
    ]);
  });

  it('OpenConfirm sends KEEPALIVEs on its timer too', () => {
    const t = from('OpenConfirm', ev('KeepaliveTimerExpires'));
    expect(t.session.state).toBe('OpenConfirm');
    expect(t.actions).toEqual([SEND_KEEPALIVE, start('keepalive', 30)]);
  });

  it('uses the configured keepalive time', () => {
    const cfg = fsmConfig({ keepaliveTime: 7 });
    const t = transition(sessionIn('OpenSent', cfg), ev('OpenMsg', { open: PEER_OPEN }), cfg);
    expect(t.actions).toEqual([SEND_KEEPALIVE, start('hold', 90), start('keepalive', 7)]);
  });
});

describe('Idle', () => {
  it('ignores every event but starts, stops and connections', () => {
    const s = initialSession(config);
    const ignored: FsmEvent[] = [
      ev('ConnectRetryTimerExpires'),
      ev('HoldTimerExpires'),
      ev('KeepaliveTimerExpires'),
      ev('TcpConnectionFails', { reason: 'x' }),
      ev('OpenMsg', { open: PEER_OPEN }),
      ev('KeepaliveMsg'),
      ev('UpdateMsg', { update: UPDATE }),
      ev('RouteRefreshMsg', { refresh: REFRESH }),
      ev('NotifMsg', { notification: ADMINISTRATIVE_SHUTDOWN }),
      ev('MessageError', { error: new MessageHeaderError(1, 'x') }),
      ev('OpenCollisionDump'),
    ];
    for (const e of ignored) expect(transition(s, e, config), e.type).toEqual({ session: s, actions: [] });
  });

  it('refuses connections', () => {
    const s = initialSession(config);
    expect(transition(s, ev('TcpConnectionConfirmed'), config)).toEqual({ session: s, actions: [CLOSE] });
    expect(transition(s, ev('TcpConnectionUp'), config)).toEqual({ session: s, actions: [CLOSE] });
  });

  it('ManualStop cancels a pending automatic restart', () => {
    const failed = from('OpenSent', ev('HoldTimerExpires')).session;
    expect(failed.connectRetryCounter).toBe(1);
    const t = transition(failed, ev('ManualStop'), config);
    expect(t.actions).toEqual([stop('idleHold')]);
    expect(t.session).toEqual({ ...failed, connectRetryCounter: 0 });
  });

  it('IdleHoldTimerExpires restarts like ManualStart, keeping counter and idle hold time', () => {
    const failed = from('OpenSent', ev('HoldTimerExpires')).session;
    const t = transition(failed, ev('IdleHoldTimerExpires', { random: 0 }), config);
    expect(t.session).toEqual({ ...failed, state: 'Connect' });
    expect(t.actions).toEqual([start('connectRetry', 90), CONNECT]);
    const p = transition({ ...failed }, ev('IdleHoldTimerExpires', { random: 0 }), passive);
    expect(p.session.state).toBe('Active');
    expect(p.actions).toEqual([start('connectRetry', 90)]);
  });

  it('ManualStart clears the counter and the idle hold time', () => {
    const failed = from('OpenSent', ev('HoldTimerExpires')).session;
    expect(failed.idleHoldTime).toBe(10);
    const t = transition(failed, ev('ManualStart'), config);
    expect(t.session.connectRetryCounter).toBe(0);
    expect(t.session.idleHoldTime).toBe(5);
    expect(t.session.lastError).toBe(failed.lastError);
  });
});

describe('Connect and Active', () => {
  it('Connect + ConnectRetryTimerExpires: drop the attempt, restart the timer, connect again', () => {
    const t = from('Connect', ev('ConnectRetryTimerExpires', { random: 0.2 }));
    expect(t.session.state).toBe('Connect');
    expect(t.actions).toEqual([CLOSE, start('connectRetry', 96), CONNECT]);
  });

  it('Active + ConnectRetryTimerExpires: connect, go Connect (passive: stay Active)', () => {
    const t = from('Active', ev('ConnectRetryTimerExpires', { random: 1 }));
    expect(t.session.state).toBe('Connect');
    expect(t.actions).toEqual([start('connectRetry', 120), CONNECT]);
    const p = from('Active', ev('ConnectRetryTimerExpires', { random: 1 }), passive);
    expect(p.session.state).toBe('Active');
    expect(p.actions).toEqual([start('connectRetry', 120)]);
  });

  it('TcpConnectionFails: Active, connect retry timer restarted, counted', () => {
    const t = from('Connect', ev('TcpConnectionFails', { reason: 'ECONNREFUSED', random: 0 }));
    expect(t.session).toEqual({
      state: 'Active',
      connectRetryCounter: 1,
      idleHoldTime: 5,
      lastError: 'TCP connection failed: ECONNREFUSED',
    });
    expect(t.actions).toEqual([CLOSE, start('connectRetry', 90)]);
    const again = transition(t.session, ev('TcpConnectionFails', { reason: 'x', random: 0 }), config);
    expect(again.session.state).toBe('Active');
    expect(again.session.connectRetryCounter).toBe(2);
    expect(again.actions).toEqual([CLOSE, start('connectRetry', 90)]);
    const p = from('Active', ev('TcpConnectionFails', { reason: 'x', random: 0 }), passive);
    expect(p.session.state).toBe('Active');
    expect(p.actions).toEqual([CLOSE, start('connectRetry', 90)]);
  });

  it('ManualStart is ignored', () => {
    const s = sessionIn('Connect');
    expect(transition(s, ev('ManualStart'), config)).toEqual({ session: s, actions: [] });
  });

  it('ManualStop: close, no NOTIFICATION (no OPEN was sent), no restart, counter cleared', () => {
    for (const state of ['Connect', 'Active'] as const) {
      const s = { ...sessionIn(state), connectRetryCounter: 3 };
      const t = transition(s, ev('ManualStop'), config);
      expect(t.actions).toEqual([CLOSE, stop('connectRetry')]);
      expect(t.session).toEqual(idleAfter(0, 5, 'manual stop'));
    }
  });

  it('any other event: Idle without a NOTIFICATION, with the automatic restart', () => {
    const events: FsmEvent[] = [
      ev('HoldTimerExpires'),
      ev('KeepaliveTimerExpires'),
      ev('IdleHoldTimerExpires'),
      ev('OpenMsg', { open: PEER_OPEN }),
      ev('KeepaliveMsg'),
      ev('UpdateMsg', { update: UPDATE }),
      ev('RouteRefreshMsg', { refresh: REFRESH }),
      ev('NotifMsg', { notification: ADMINISTRATIVE_SHUTDOWN }),
      ev('MessageError', { error: new MessageHeaderError(2, 'bad length') }),
    ];
    for (const state of ['Connect', 'Active'] as const) {
      for (const e of events) {
        const t = from(state, e);
        expect(t.session.state, `${state} ${e.type}`).toBe('Idle');
        expect(t.actions, `${state} ${e.type}`).toEqual([CLOSE, stop('connectRetry'), start('idleHold', 5)]);
        expect(t.session.connectRetryCounter).toBe(state === 'Active' ? 2 : 1);
      }
    }
    expect(from('Connect', ev('KeepaliveMsg')).session.lastError).toBe('unexpected KeepaliveMsg in Connect');
    expect(from('Connect', events[8]!).session.lastError).toBe(
      'Message Header Error / Bad Message Length: bad length',
    );
  });

  it('OpenCollisionDump: Idle without a NOTIFICATION and without restart', () => {
    const t = from('Connect', ev('OpenCollisionDump'));
    expect(t.session.state).toBe('Idle');
    expect(t.actions).toEqual([CLOSE, stop('connectRetry')]);
  });
});

describe('OpenSent', () => {
  /** The actions of falling from OpenSent to Idle after sending `sent`, with the first idle hold. */
  const failing = (sent: FsmAction) => [sent, CLOSE, stop('hold'), start('idleHold', 5)];

  it('a bad OPEN: its NOTIFICATION, Idle, automatic restart armed', () => {
    const t = from('OpenSent', ev('OpenMsg', { open: openFrom(65003, PEER_ID) }));
    expect(t.actions).toEqual(failing(notification(2, 2)));
    expect(t.session).toEqual(
      idleAfter(1, 10, 'sent NOTIFICATION OPEN Message Error / Bad Peer AS: peer AS 65003, expected 65002'),
    );
    expect(from('OpenSent', ev('OpenMsg', { open: { ...PEER_OPEN, version: 3 } })).actions).toEqual(
      failing(notification(2, 1, [0, 4])),
    );
    expect(from('OpenSent', ev('OpenMsg', { open: { ...PEER_OPEN, bgpId: '0.0.0.0' } })).actions).toEqual(
      failing(notification(2, 3)),
    );
    const required = fsmConfig({ requiredCapabilities: [69] });
    expect(from('OpenSent', ev('OpenMsg', { open: PEER_OPEN }), required).actions).toEqual(
      failing(notification(2, 7, [69, 0])),
    );
  });

  it('HoldTimerExpires: 4/0', () => {
    const t = from('OpenSent', ev('HoldTimerExpires'));
    expect(t.actions).toEqual(failing(notification(4, 0)));
    expect(t.session.lastError).toBe(
      'sent NOTIFICATION Hold Timer Expired / Unspecific: hold timer expired in OpenSent',
    );
  });

  it('TcpConnectionFails: close, back to Active with the connect retry timer (not counted)', () => {
    const t = from('OpenSent', ev('TcpConnectionFails', { reason: 'reset', random: 0 }));
    expect(t.session).toEqual({
      state: 'Active',
      connectRetryCounter: 0,
      idleHoldTime: 5,
      lastError: 'TCP connection failed: reset',
    });
    expect(t.actions).toEqual([CLOSE, stop('hold'), start('connectRetry', 90)]);
  });

  it('unexpected messages: 5/1 (RFC 6608)', () => {
    for (const e of [
      ev('KeepaliveMsg'),
      ev('UpdateMsg', { update: UPDATE }),
      ev('RouteRefreshMsg', { refresh: REFRESH }),
    ]) {
      expect(from('OpenSent', e).actions, e.type).toEqual(failing(notification(5, 1)));
    }
    expect(from('OpenSent', ev('KeepaliveMsg')).session.lastError).toBe(
      'sent NOTIFICATION Finite State Machine Error / Receive Unexpected Message in OpenSent State: ' +
        'unexpected KeepaliveMsg in OpenSent',
    );
  });

  it('unexpected timer events: 5/0', () => {
    for (const e of [
      ev('ConnectRetryTimerExpires'),
      ev('KeepaliveTimerExpires'),
      ev('IdleHoldTimerExpires'),
    ]) {
      expect(from('OpenSent', e).actions, e.type).toEqual(failing(notification(5, 0)));
    }
  });

  it('MessageError: its own NOTIFICATION, except an UPDATE or ROUTE-REFRESH error (unexpected: 5/1)', () => {
    const header = new MessageHeaderError(2, 'length 5000', new Uint8Array([0x13, 0x88]));
    expect(from('OpenSent', ev('MessageError', { error: header })).actions).toEqual(
      failing(notification(1, 2, [0x13, 0x88])),
    );
    const open = new OpenMessageError(6, 'hold time 1 s');
    expect(from('OpenSent', ev('MessageError', { error: open })).actions).toEqual(
      failing(notification(2, 6)),
    );
    const update = new UpdateMessageError(11, 'bad AS_PATH');
    expect(from('OpenSent', ev('MessageError', { error: update })).actions).toEqual(
      failing(notification(5, 1)),
    );
    const refresh = new RouteRefreshError(1, 'short');
    expect(from('OpenSent', ev('MessageError', { error: refresh })).actions).toEqual(
      failing(notification(5, 1)),
    );
  });

  it('NotifMsg: close without answering, names code, subcode and shutdown message', () => {
    const n = shutdownNotification(2, 'maintenance window');
    const t = from('OpenSent', ev('NotifMsg', { notification: n }));
    expect(t.actions).toEqual([CLOSE, stop('hold'), start('idleHold', 5)]);
    expect(t.session.lastError).toBe(
      'received NOTIFICATION Cease / Administrative Shutdown: "maintenance window"',
    );
  });

  it('ManualStop: Cease 6/2 without data, no restart, counter cleared', () => {
    const t = from('OpenSent', ev('ManualStop'));
    expect(t.actions).toEqual([notification(6, 2), CLOSE, stop('hold')]);
    expect(t.session).toEqual(
      idleAfter(0, 5, 'manual stop, sent NOTIFICATION Cease / Administrative Shutdown'),
    );
  });

  it('ManualStop with a NOTIFICATION of its own sends that', () => {
    const n = shutdownNotification(4, 'config change');
    const t = from('OpenSent', ev('ManualStop', { notification: n }));
    expect(t.actions).toEqual([{ type: 'send', message: n }, CLOSE, stop('hold')]);
    expect(t.session.lastError).toBe(
      'manual stop, sent NOTIFICATION Cease / Administrative Reset: "config change"',
    );
  });

  it('OpenCollisionDump: Cease 6/7, no restart', () => {
    const t = from('OpenSent', ev('OpenCollisionDump'));
    expect(t.actions).toEqual([notification(6, 7), CLOSE, stop('hold')]);
    expect(t.session.state).toBe('Idle');
    expect(t.session.connectRetryCounter).toBe(1);
  });

  it('ignores ManualStart and a second connection (the speaker tracks it for collisions)', () => {
    const s = sessionIn('OpenSent');
    for (const e of [ev('ManualStart'), ev('TcpConnectionConfirmed'), ev('TcpConnectionUp')]) {
      expect(transition(s, e, config)).toEqual({ session: s, actions: [] });
    }
  });
});

describe('OpenConfirm', () => {
  const failing = (sent: FsmAction) => [sent, CLOSE, stop('hold'), stop('keepalive'), start('idleHold', 5)];

  it('HoldTimerExpires: 4/0', () => {
    expect(from('OpenConfirm', ev('HoldTimerExpires')).actions).toEqual(failing(notification(4, 0)));
  });

  it('unexpected messages: 5/2, an OPEN included', () => {
    for (const e of [
      ev('OpenMsg', { open: PEER_OPEN }),
      ev('UpdateMsg', { update: UPDATE }),
      ev('RouteRefreshMsg', { refresh: REFRESH }),
      ev('MessageError', { error: new UpdateMessageError(1, 'x') }),
    ]) {
      expect(from('OpenConfirm', e).actions, e.type).toEqual(failing(notification(5, 2)));
    }
  });

  it('unexpected timer events: 5/0', () => {
    for (const e of [ev('ConnectRetryTimerExpires'), ev('IdleHoldTimerExpires')]) {
      expect(from('OpenConfirm', e).actions, e.type).toEqual(failing(notification(5, 0)));
    }
  });

  it('MessageError of a header or an OPEN: its own NOTIFICATION', () => {
    const e = ev('MessageError', { error: new OpenMessageError(0, 'truncated') });
    expect(from('OpenConfirm', e).actions).toEqual(failing(notification(2, 0)));
  });

  it('TcpConnectionFails: Idle, automatic restart', () => {
    const t = from('OpenConfirm', ev('TcpConnectionFails', { reason: 'EOF' }));
    expect(t.actions).toEqual([CLOSE, stop('hold'), stop('keepalive'), start('idleHold', 5)]);
    expect(t.session).toEqual(idleAfter(1, 10, 'TCP connection failed: EOF'));
  });

  it('NotifMsg, ManualStop, OpenCollisionDump', () => {
    const n = ev('NotifMsg', {
      notification: { type: 'notification', code: 2, subcode: 2, data: new Uint8Array() },
    });
    const t = from('OpenConfirm', n);
    expect(t.actions).toEqual([CLOSE, stop('hold'), stop('keepalive'), start('idleHold', 5)]);
    expect(t.session.lastError).toBe('received NOTIFICATION OPEN Message Error / Bad Peer AS');
    expect(from('OpenConfirm', ev('ManualStop')).actions).toEqual([
      notification(6, 2),
      CLOSE,
      stop('hold'),
      stop('keepalive'),
    ]);
    expect(from('OpenConfirm', ev('OpenCollisionDump')).actions).toEqual([
      notification(6, 7),
      CLOSE,
      stop('hold'),
      stop('keepalive'),
    ]);
  });

  it('forgets the negotiation on the way to Idle', () => {
    const t = from('OpenConfirm', ev('HoldTimerExpires'));
    expect(t.session.peerOpen).toBeUndefined();
    expect(t.session.negotiated).toBeUndefined();
  });
});

describe('Established', () => {
  const down = (reason: string, graceful = false): FsmAction => ({ type: 'sessionDown', reason, graceful });
  const failing = (sent: FsmAction, reason: string) => [
    sent,
    CLOSE,
    stop('hold'),
    stop('keepalive'),
    down(reason),
    start('idleHold', 5),
  ];

  it('HoldTimerExpires: 4/0 and sessionDown', () => {
    const t = from('Established', ev('HoldTimerExpires'));
    const reason = 'sent NOTIFICATION Hold Timer Expired / Unspecific: hold timer expired in Established';
    expect(t.actions).toEqual(failing(notification(4, 0), reason));
    expect(t.session).toEqual(idleAfter(1, 10, reason));
  });

  it('an OPEN, well formed or not: 5/3', () => {
    const reason =
      'sent NOTIFICATION Finite State Machine Error / Receive Unexpected Message in Established State: ';
    expect(from('Established', ev('OpenMsg', { open: PEER_OPEN })).actions).toEqual(
      failing(notification(5, 3), `${reason}unexpected OpenMsg in Established`),
    );
    const bad = ev('MessageError', { error: new OpenMessageError(4, 'parameter 1') });
    expect(from('Established', bad).actions).toEqual(
      failing(
        notification(5, 3),
        `${reason}unexpected OPEN in Established (and it is malformed: OPEN Message Error / Unsupported Optional Parameter: parameter 1)`,
      ),
    );
  });

  it('unexpected timer events: 5/0', () => {
    for (const e of [ev('ConnectRetryTimerExpires'), ev('IdleHoldTimerExpires')]) {
      const t = from('Established', e);
      expect(t.actions[0], e.type).toEqual(notification(5, 0));
      expect(t.session.state).toBe('Idle');
    }
  });

  it('UPDATE, header and ROUTE-REFRESH errors: their own NOTIFICATION', () => {
    const update = new UpdateMessageError(11, 'AS_PATH segment overrun', new Uint8Array([1, 2]));
    const t = from('Established', ev('MessageError', { error: update }));
    expect(t.actions).toEqual(
      failing(
        notification(3, 11, [1, 2]),
        'sent NOTIFICATION UPDATE Message Error / Malformed AS_PATH: AS_PATH segment overrun',
      ),
    );
    const header = from(
      'Established',
      ev('MessageError', { error: new MessageHeaderError(3, 'type 9', new Uint8Array([9])) }),
    );
    expect(header.actions[0]).toEqual(notification(1, 3, [9]));
    const refresh = from(
      'Established',
      ev('MessageError', { error: new RouteRefreshError(1, 'long', new Uint8Array([7])) }),
    );
    expect(refresh.actions[0]).toEqual(notification(7, 1, [7]));
  });

  it('NotifMsg and TcpConnectionFails: sessionDown with the reason, automatic restart', () => {
    const n: NotificationMessage = shutdownNotification(2, 'bye');
    expect(from('Established', ev('NotifMsg', { notification: n })).actions).toEqual([
      CLOSE,
      stop('hold'),
      stop('keepalive'),
      down('received NOTIFICATION Cease / Administrative Shutdown: "bye"'),
      start('idleHold', 5),
    ]);
    expect(from('Established', ev('TcpConnectionFails', { reason: 'ECONNRESET' })).actions).toEqual([
      CLOSE,
      stop('hold'),
      stop('keepalive'),
      // no NOTIFICATION either way: a graceful-restart peer's routes stay, stale (RFC 4724 4.2)
      down('TCP connection failed: ECONNRESET', true),
      start('idleHold', 5),
    ]);
  });

  it('ManualStop: Cease, sessionDown, no restart', () => {
    const t = from('Established', ev('ManualStop'));
    expect(t.actions).toEqual([
      notification(6, 2),
      CLOSE,
      stop('hold'),
      stop('keepalive'),
      down('manual stop, sent NOTIFICATION Cease / Administrative Shutdown'),
    ]);
    expect(t.session).toEqual(
      idleAfter(0, 5, 'manual stop, sent NOTIFICATION Cease / Administrative Shutdown'),
    );
  });

  it('OpenCollisionDump: Cease 6/7, sessionDown, no restart', () => {
    const t = from('Established', ev('OpenCollisionDump'));
    expect(actionTypes(t.actions)).toEqual(['send', 'close', 'stopTimer', 'stopTimer', 'sessionDown']);
    expect(t.actions[0]).toEqual(notification(6, 7));
  });

  it('ignores ManualStart and further connections', () => {
    const s = sessionIn('Established');
    for (const e of [ev('ManualStart'), ev('TcpConnectionConfirmed'), ev('TcpConnectionUp')]) {
      expect(transition(s, e, config)).toEqual({ session: s, actions: [] });
    }
  });
});

describe('idle hold time', () => {
  /** Fails once from OpenSent (hold timer) and restarts; returns the idle hold seconds used. */
  function failAndRestart(s: FsmSession): { session: FsmSession; wait: number } {
    const { session, steps } = drive(
      s,
      [ev('IdleHoldTimerExpires'), ev('TcpConnectionUp'), ev('HoldTimerExpires')],
      config,
    );
    const started = steps[2]!.actions.find((a) => a.type === 'startTimer' && a.timer === 'idleHold');
    if (started?.type !== 'startTimer') throw new Error('no idle hold timer started');
    return { session, wait: started.seconds };
  }

  it('grows 5, 10, 20, 30, 30 with consecutive failures', () => {
    let s = from('OpenSent', ev('HoldTimerExpires')).session; // waits 5
    const waits = [5];
    for (let i = 0; i < 4; i++) {
      const r = failAndRestart(s);
      waits.push(r.wait);
      s = r.session;
    }
    expect(waits).toEqual([5, 10, 20, 30, 30]);
    expect(s.connectRetryCounter).toBe(5);
    expect(s.idleHoldTime).toBe(30);
  });

  /** A session whose idle hold time has grown to 30, Established at `at` ms. */
  function establishedAfterFailures(at: number): FsmSession {
    let s = from('OpenSent', ev('HoldTimerExpires')).session;
    for (let i = 0; i < 3; i++) s = failAndRestart(s).session;
    expect(s.idleHoldTime).toBe(30);
    const path = [
      ev('IdleHoldTimerExpires', { now: at }),
      ev('TcpConnectionUp', { now: at }),
      ev('OpenMsg', { open: PEER_OPEN, now: at }),
      ev('KeepaliveMsg', { now: at }),
    ];
    return drive(s, path, config).session;
  }

  it('starts over after a session that stayed up for stableTime', () => {
    const s = establishedAfterFailures(1_000);
    const t = transition(s, ev('HoldTimerExpires', { now: 61_000 }), config);
    expect(t.actions.at(-1)).toEqual(start('idleHold', 5));
    expect(t.session.idleHoldTime).toBe(10);
  });

  it('keeps growing after a session that went down sooner', () => {
    const s = establishedAfterFailures(1_000);
    const t = transition(s, ev('HoldTimerExpires', { now: 60_999 }), config);
    expect(t.actions.at(-1)).toEqual(start('idleHold', 30));
    expect(t.session.idleHoldTime).toBe(30);
  });

  it('stays within [min, max] for odd settings', () => {
    const cfg = fsmConfig({ idleHoldMin: 0, idleHoldMax: 0 });
    const t = transition(sessionIn('OpenSent', cfg), ev('HoldTimerExpires'), cfg);
    expect(t.actions.at(-1)).toEqual(start('idleHold', 0));
    expect(t.session.idleHoldTime).toBe(0);
  });
});

describe('connect retry jitter (RFC 4271 10)', () => {
  it('is ConnectRetryTime * (0.75 + 0.25 * random)', () => {
    expect(connectRetrySeconds(config, 0)).toBe(90);
    expect(connectRetrySeconds(config, 0.5)).toBe(105);
    expect(connectRetrySeconds(config, 0.999999)).toBeLessThan(120);
    expect(connectRetrySeconds(config, 0.999999)).toBeGreaterThan(119.99);
  });

  it('clamps a random number outside [0, 1]', () => {
    expect(connectRetrySeconds(config, -1)).toBe(90);
    expect(connectRetrySeconds(config, 7)).toBe(120);
    expect(connectRetrySeconds(config, Number.NaN)).toBe(90);
  });

  it('every connect retry timer the FSM starts is within [0.75, 1] of ConnectRetryTime', () => {
    for (const random of [0, 0.1, 0.5, 0.9, 0.9999]) {
      const { steps } = drive(
        initialSession(config),
        [
          ev('ManualStart', { random }),
          ev('ConnectRetryTimerExpires', { random }),
          ev('TcpConnectionFails', { reason: 'x', random }),
          ev('ConnectRetryTimerExpires', { random }),
        ],
        config,
      );
      for (const a of steps.flatMap((t) => t.actions)) {
        if (a.type !== 'startTimer') continue;
        expect(a.seconds).toBeGreaterThanOrEqual(90);
        expect(a.seconds).toBeLessThanOrEqual(120);
      }
    }
  });
});

describe('describeNotification', () => {
  it('names code and subcode, with a shutdown message when there is one', () => {
    expect(describeNotification(ADMINISTRATIVE_SHUTDOWN)).toBe('Cease / Administrative Shutdown');
    expect(describeNotification(shutdownNotification(2, 'line 1\nline "2"'))).toBe(
      'Cease / Administrative Shutdown: "line 1\\nline \\"2\\""',
    );
    expect(describeNotification({ type: 'notification', code: 9, subcode: 9, data: new Uint8Array() })).toBe(
      'Unknown error code 9 / Unknown subcode 9',
    );
  });
});

describe('resolveCollision (RFC 4271 6.8)', () => {
  it('keeps the connection initiated by the higher identifier', () => {
    expect(resolveCollision(LOCAL_ID, PEER_ID)).toBe('keep-incoming');
    expect(resolveCollision(PEER_ID, LOCAL_ID)).toBe('keep-outgoing');
  });

  it('compares identifiers as unsigned 32-bit numbers, not as text', () => {
    expect(resolveCollision('9.0.0.0', '10.0.0.0')).toBe('keep-incoming');
    expect(resolveCollision('10.0.0.0', '9.255.255.255')).toBe('keep-outgoing');
    expect(resolveCollision('128.0.0.0', '127.255.255.255')).toBe('keep-outgoing');
    expect(resolveCollision('255.255.255.254', '255.255.255.255')).toBe('keep-incoming');
  });

  it('equal identifiers (eBGP): the larger AS keeps its connection (RFC 6286 2.3)', () => {
    expect(resolveCollision(LOCAL_ID, LOCAL_ID, { local: 65001, remote: 65002 })).toBe('keep-incoming');
    expect(resolveCollision(LOCAL_ID, LOCAL_ID, { local: 65003, remote: 65002 })).toBe('keep-outgoing');
    expect(resolveCollision(LOCAL_ID, LOCAL_ID)).toBe('keep-outgoing');
  });

  it('rejects identifiers that are not dotted quads (a bug in the caller)', () => {
    expect(() => resolveCollision('10.0.0', PEER_ID)).toThrow(RangeError);
  });
});
