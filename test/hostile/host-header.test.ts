/**
 * The DNS-rebinding check: port-forwards, probes, Prometheus and in-cluster clients are answered without any
 * configuration; a public name pointed at a tcpstate listener is not, unless the operator listed it.
 */
import { describe, expect, it } from "vitest";
import { hostAllowed, isHostPattern } from "../../common/host-header.js";

const LISTED = ["tcpstate.example.com", "*.dash.example.org"];

describe("hostAllowed", () => {
  it.each([
    ["127.0.0.1:8080", "kubectl port-forward"],
    ["localhost:8080", "kubectl port-forward, by name"],
    ["LOCALHOST", "any case"],
    ["[::1]:8080", "an IPv6 literal"],
    ["10.244.1.7:8080", "a pod IP (probes, Prometheus)"],
    ["tcpstate-collector:8080", "the Service's short name"],
    ["tcpstate-collector.tcpstate.svc:8080", "the Service's namespaced name"],
    ["tcpstate-collector.tcpstate.svc.cluster.local.", "the Service's full name, rooted"],
    ["dash.localhost", "a .localhost name"],
    ["tcpstate.example.com", "a listed name"],
    ["a.dash.example.org:443", "a name under a listed suffix"],
  ])("answers Host %j (%s)", (host) => {
    expect(hostAllowed(host, LISTED)).toBe(true);
  });

  it("answers a request without Host (HTTP/1.0: no browser sends one)", () => {
    expect(hostAllowed(undefined, [])).toBe(true);
  });

  it.each([
    ["evil.example.com:8080", "a public name nobody listed"],
    ["127.0.0.1.nip.io:8080", "a public name that resolves to loopback"],
    ["svc.evil.com", "a public name that mentions svc"],
    ["tcpstate.svc.evil.com", "a public name with .svc. inside"],
    ["dash.example.org", "the listed suffix itself, not under it"],
    ["", "empty"],
    ["a b", "not a name"],
    ["[not-ip]:80", "brackets around no IPv6"],
    ["host:99999999", "a port too long"],
    ["evil.com:80:80", "two ports"],
  ])("refuses Host %j (%s)", (host) => {
    expect(hostAllowed(host, LISTED)).toBe(false);
  });
});

describe("isHostPattern", () => {
  it("accepts names and *. suffixes, refuses anything else", () => {
    expect(["dash.example.com", "*.example.com", "collector"].every(isHostPattern)).toBe(true);
    expect(["*", "a..b", "http://x", "a/b", "*example.com", ""].some(isHostPattern)).toBe(false);
  });
});
