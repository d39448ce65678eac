// Pods made of network namespaces, for the system tests: the same code `tcpstate local --demo` and the
// benchmarks use (netns-lab/pod-network.ts).
export * from "../../netns-lab/pod-network.js";
