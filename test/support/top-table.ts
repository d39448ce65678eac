/**
 * The header `tcpstate top` (and `tcpstate local`'s live table) prints: the columns users read and scripts
 * split on. Spelled out here, not imported from cli/, so that changing them fails the tests.
 */
export const TOP_HEADER = [
  "NAMESPACE",
  "POD",
  "CHURN/s",
  "OPENS",
  "CLOSES",
  "FAILED",
  "RESETS",
  "ESTAB",
  "TIME_WAIT",
  "SYN_RECV",
  "CLOSE_WAIT",
];
