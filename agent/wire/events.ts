/** The live event stream's wire contract (tcpstate.v1.events.<node>) and its lease requests. */
import { z } from "zod";
import { GAUGE_STATES } from "./gauges.js";
import { OwnerSchema } from "./summary.js";

/**
 * The states a transition names in `from` and `to`: every gauge state and CLOSE, where each socket starts
 * (CLOSE → SYN_SENT, CLOSE → LISTEN) and ends (every close event carries `to: "CLOSE"`; one handed to a
 * timewait sock shows as → TIME_WAIT). What `tail --state` and the events API's `state=` filter on.
 */
export const TRANSITION_STATES = [...GAUGE_STATES, "CLOSE"] as const;

export const TransitionEventSchema = z.object({
  time: z.number().int().nonnegative(),
  node: z.string().min(1),
  owner: OwnerSchema,
  netns: z.number().int().nonnegative(),
  cgroup: z.number().int().nonnegative(),
  from: z.string(),
  to: z.string(),
  family: z.union([z.literal(4), z.literal(6)]),
  saddr: z.string(),
  sport: z.number().int().min(0).max(65535),
  daddr: z.string(),
  dport: z.number().int().min(0).max(65535),
});
export type TransitionEvent = z.infer<typeof TransitionEventSchema>;

/** Longest lease one request buys: a tail that dies stops the stream within this. */
export const MAX_LEASE_SECONDS = 300;

/** "Stream your events for the next N seconds": sent by `tail` and renewed while it runs. */
export const EventLeaseRequestSchema = z.object({
  leaseSeconds: z.number().int().min(1).max(MAX_LEASE_SECONDS),
});
export type EventLeaseRequest = z.infer<typeof EventLeaseRequestSchema>;

export const EventLeaseReplySchema = z.object({
  node: z.string(),
  /** Epoch ms until which this agent streams (the latest of all leases it holds). */
  until: z.number().int(),
});
export type EventLeaseReply = z.infer<typeof EventLeaseReplySchema>;
