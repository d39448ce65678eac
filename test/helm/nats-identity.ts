/** A component's NATS identity as the chart configures it, and what nats-server said it was refused. */
import { connect } from "@nats-io/transport-node";
import { z } from "zod";
import {
  NATS_CONFIG_SHAPE,
  natsAuthFromConfig,
  natsConnectionOptions,
} from "../../agent/wire/nats-connection.js";
import { NATS_FLAGS } from "../../cli/flag-table.js";
import type { NatsServer } from "../support/nats-server.js";

/** The NATS auth of a component's env (files already local), read through the CLI's flag table and schema. */
export function natsIdentity(env: Record<string, string>, url: string) {
  const values = Object.fromEntries(
    NATS_FLAGS.filter((f) => env[f.env] !== undefined).map((f) => [f.key, env[f.env]]),
  );
  const auth = natsAuthFromConfig(z.object(NATS_CONFIG_SHAPE).parse(values));
  return { auth, connect: (name: string) => connect(natsConnectionOptions([url], auth, name)) };
}

/** nats-server's permission violations so far: "<user or NKey> publish|subscription <subject>" each. */
export function violations(server: NatsServer): string[] {
  const logged = /(Publish|Subscription) Violation - (?:User|Nkey) "([^"]+)", Subject "([^"]+)"/g;
  return [...server.log().matchAll(logged)].map((m) => `${m[2]} ${m[1]?.toLowerCase()} ${m[3]}`);
}
