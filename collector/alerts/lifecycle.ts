/**
 * One alert's lifecycle, like Prometheus's, stepped on data time (the end of each evaluated window):
 * inactive → pending (condition true) → firing (true for `for`) → resolved (clear for `holdDown`, so a
 * condition flickering around its threshold does not flap). Pending that clears goes back to inactive.
 */
export type AlertState = "inactive" | "pending" | "firing";

export type Transition = "pending" | "firing" | "resolved" | "cancelled";

export class Lifecycle {
  state: AlertState = "inactive";
  /** When the condition became true (pending since; Alertmanager's startsAt). */
  activeAt = 0;
  /** When it started firing. */
  firedAt = 0;
  /** While firing: since when the condition has been clear. */
  clearSince: number | null = null;
  /** When it resolved (set on the resolved transition). */
  resolvedAt = 0;

  step(t: number, active: boolean, forMs: number, holdDownMs: number): Transition | null {
    switch (this.state) {
      case "inactive":
        if (!active) return null;
        this.state = "pending";
        this.activeAt = t;
        this.clearSince = null;
        if (forMs > 0) return "pending";
        return this.fire(t);
      case "pending":
        if (!active) {
          this.state = "inactive";
          return "cancelled";
        }
        return t - this.activeAt >= forMs ? this.fire(t) : null;
      case "firing":
        if (active) {
          this.clearSince = null;
          return null;
        }
        this.clearSince ??= t;
        return t - this.clearSince >= holdDownMs ? this.resolve(t) : null;
      default: {
        const never: never = this.state;
        throw new Error(`unknown alert state ${never}`);
      }
    }
  }

  private fire(t: number): Transition {
    this.state = "firing";
    this.firedAt = t;
    return "firing";
  }

  /** Ends the alert now, whatever the hold-down (the pod is gone, the rule disabled). */
  resolve(t: number): Transition | null {
    const was = this.state;
    this.state = "inactive";
    this.clearSince = null;
    if (was === "firing") {
      this.resolvedAt = t;
      return "resolved";
    }
    return was === "pending" ? "cancelled" : null;
  }
}
