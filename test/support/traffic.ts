// Traffic inside pod netns: the same code `tcpstate local --demo` uses (local/traffic.ts).
export * from "../../local/traffic.js";
