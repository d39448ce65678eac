/** NATS subjects of the v1 wire contract (one place: agent and collector both use them). */

export const SUMMARY_SUBJECT_PREFIX = "tcpstate.v1.summary";
export const SUMMARY_STREAM = "TCPSTATE_SUMMARIES";
/** Where the collector moves messages that are not valid v1 summaries (with the reason in headers). */
export const DEADLETTER_SUBJECT = "tcpstate.v1.deadletter";

/**
 * A node name as one subject token: `.` separates tokens and `*`/`>` are wildcards, so they become `_` (the
 * summary itself carries the exact node name).
 */
export function subjectToken(name: string): string {
  return name.replace(/[.*>\s]/g, "_");
}

export function summarySubject(node: string): string {
  return `${SUMMARY_SUBJECT_PREFIX}.${subjectToken(node)}`;
}

export const EVENTS_SUBJECT_PREFIX = "tcpstate.v1.events";
/** Lease requests for the event stream: to every agent, or to one node's (`….<node>`). */
export const EVENTS_CONTROL_SUBJECT = "tcpstate.v1.control.events";

export function eventsSubject(node: string): string {
  return `${EVENTS_SUBJECT_PREFIX}.${subjectToken(node)}`;
}
