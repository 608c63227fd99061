// RFC 4724 4.2, the receiving speaker, as pure functions: what to do with a graceful-restart peer's
// routes when its session ends, when it comes back, when its End-of-RIB arrives and when its restart
// time runs out. The state is the set of families whose stale routes still wait for the peer; the
// actions say which stale routes to sweep and when to start or stop the restart timer.

export interface RestartState {
  /** Families whose routes are kept stale, waiting for the peer's End-of-RIB. */
  readonly families: ReadonlySet<number>;
}

export type RestartAction =
  /** Drop the peer's routes still stale in `families` (all of them when absent). */
  | { readonly type: 'sweep'; readonly families?: readonly number[]; readonly why: string }
  | { readonly type: 'startTimer'; readonly seconds: number }
  | { readonly type: 'stopTimer' };

export interface RestartStep {
  readonly state: RestartState | undefined;
  readonly actions: readonly RestartAction[];
}

/** What a session knew about the peer's graceful restart when it ended. */
export interface SessionEnd {
  /** The TCP connection failed with no NOTIFICATION either way. */
  readonly graceful: boolean;
  /** Families negotiated on the session. */
  readonly families: readonly number[];
  /** The peer's graceful-restart capability, if it sent one. */
  readonly peer?: { readonly restartTime: number; readonly families: readonly { readonly family: number }[] };
}

/**
 * The session ended. A graceful end with the peer's capability keeps its routes, stale, for the
 * families it listed (and negotiated) until it is back or `restartTime` runs out; a second drop during
 * a restart keeps the families still waiting. Returns the families to keep stale (the caller marks them).
 */
export function restartOnSessionDown(
  state: RestartState | undefined,
  end: SessionEnd,
): RestartStep & { readonly staleFamilies: readonly number[] } {
  const gr = end.peer;
  const staleFamilies =
    end.graceful && gr && gr.restartTime > 0
      ? gr.families.map((f) => f.family).filter((f) => end.families.includes(f))
      : [];
  if (staleFamilies.length === 0 || !gr) {
    const done = restartOver(state, 'session down without graceful restart');
    return { ...done, staleFamilies };
  }
  const families = new Set([...staleFamilies, ...(state?.families ?? [])]);
  return {
    state: { families },
    actions: [{ type: 'startTimer', seconds: gr.restartTime }],
    staleFamilies,
  };
}

/** The restarted peer is back: families it no longer preserves (F bit clear) are swept now. */
export function restartOnSessionUp(
  state: RestartState | undefined,
  peer:
    | { readonly families: readonly { readonly family: number; readonly forwardingState: boolean }[] }
    | undefined,
): RestartStep {
  if (!state) return { state, actions: [] };
  if (!peer) return restartOver(state, 'the peer came back without graceful restart');
  const kept = new Set(peer.families.filter((f) => f.forwardingState).map((f) => f.family));
  const drop = [...state.families].filter((f) => !kept.has(f));
  const left = new Set([...state.families].filter((f) => kept.has(f)));
  if (left.size === 0) return restartOver(state, 'no family kept forwarding state');
  const actions: RestartAction[] =
    drop.length > 0 ? [{ type: 'sweep', families: drop, why: 'forwarding state not kept' }] : [];
  return { state: { families: left }, actions };
}

/** End-of-RIB for `family` from the peer: its stale routes of that family are swept. */
export function restartOnEndOfRib(state: RestartState | undefined, family: number): RestartStep {
  if (!state?.families.has(family)) return { state, actions: [] };
  const left = new Set(state.families);
  left.delete(family);
  const sweep: RestartAction = { type: 'sweep', families: [family], why: 'End-of-RIB' };
  if (left.size === 0) return { state: undefined, actions: [sweep, { type: 'stopTimer' }] };
  return { state: { families: left }, actions: [sweep] };
}

/** The restart time ran out, or the peer was stopped: every stale route goes. */
export function restartOver(state: RestartState | undefined, why: string): RestartStep {
  if (!state) return { state, actions: [] };
  return { state: undefined, actions: [{ type: 'stopTimer' }, { type: 'sweep', why }] };
}
