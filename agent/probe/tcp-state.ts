/** Kernel TCP states as include/net/tcp_states.h numbers them (what the tracepoint reports). */
export const TcpState = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
  NEW_SYN_RECV: 12,
} as const;

export type TcpStateName = keyof typeof TcpState;

const namesByNumber: readonly (TcpStateName | undefined)[] = (() => {
  const names: (TcpStateName | undefined)[] = [];
  for (const [name, value] of Object.entries(TcpState)) names[value] = name as TcpStateName;
  return names;
})();

/** The state's name, or `STATE_<n>` for a number this kernel version does not define. */
export function tcpStateName(state: number): string {
  return namesByNumber[state] ?? `STATE_${state}`;
}
