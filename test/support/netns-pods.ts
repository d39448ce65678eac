// Pods made of network namespaces: the same code `tcpstate local --demo` uses (local/pod-network.ts).
export * from "../../local/pod-network.js";
