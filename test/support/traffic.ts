// Traffic inside pod netns, for the system tests: the same code `tcpstate local --demo` and the benchmarks use
// (netns-lab/traffic.ts).
export * from "../../netns-lab/traffic.js";
