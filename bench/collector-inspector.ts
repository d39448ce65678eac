// A full garbage collection in the collector process, on demand, so its memory can be read without the
// garbage of the summaries it parsed: the collector runs with --inspect=127.0.0.1:0 and this sends
// HeapProfiler.collectGarbage over the inspector's WebSocket (a minimal client: Node 20 has none built in).
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { Socket } from "node:net";

/** The NODE_OPTIONS that open the inspector on a free loopback port (the URL is printed on stderr). */
export function withInspector(nodeOptions: string | undefined): string {
  return `${nodeOptions ?? ""} --inspect=127.0.0.1:0`.trim();
}

/** "Debugger listening on ws://127.0.0.1:PORT/UUID" among a process's stderr lines. */
export function inspectorUrl(lines: Iterable<Record<string, unknown>>): string | undefined {
  for (const entry of lines) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(String(entry.msg ?? ""));
    if (m) return m[1];
  }
  return undefined;
}

function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x81, 0x80 | len])
      : Buffer.from([0x81, 0x80 | 126, (len >> 8) & 0xff, len & 0xff]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([head, mask, body]);
}

/** Unmasked server frames → text messages (the inspector sends each message in one frame). */
class FrameReader {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const opcode = (this.buf[0] as number) & 0x0f;
      let len = (this.buf[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buf.length < 4) return out;
        len = this.buf.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return out;
        len = Number(this.buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buf.length < offset + len) return out;
      if (opcode === 0x1) out.push(this.buf.subarray(offset, offset + len).toString());
      this.buf = this.buf.subarray(offset + len);
    }
  }
}

/** One CDP connection: calls answered in order (events are ignored). */
export class InspectorSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    const reader = new FrameReader();
    socket.on("data", (chunk: Buffer) => {
      for (const text of reader.push(chunk)) {
        const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: { message: string } };
        const w = msg.id === undefined ? undefined : this.waiting.get(msg.id);
        if (!w || msg.id === undefined) continue;
        this.waiting.delete(msg.id);
        if (msg.error) w.reject(new Error(`inspector: ${msg.error.message}`));
        else w.resolve(msg.result);
      }
    });
    socket.on("close", () => {
      for (const w of this.waiting.values()) w.reject(new Error("inspector connection closed"));
      this.waiting.clear();
    });
  }

  static async connect(url: string): Promise<InspectorSession> {
    const u = new URL(url);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        headers: {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
          "Sec-WebSocket-Version": "13",
        },
      });
      req.once("upgrade", (_res, s: Socket) => resolve(s));
      req.once("response", (res) =>
        reject(new Error(`inspector refused the WebSocket: HTTP ${res.statusCode}`)),
      );
      req.once("error", reject);
      req.end();
    });
    return new InspectorSession(socket);
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector: ${method} timed out`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.socket.write(frame(JSON.stringify({ id, method, params })));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A full GC in the process behind `url` (V8's low-memory collection: it also gives free pages back). */
export async function collectGarbage(url: string): Promise<void> {
  const session = await InspectorSession.connect(url);
  try {
    await session.call("HeapProfiler.enable");
    await session.call("HeapProfiler.collectGarbage");
    await session.call("HeapProfiler.disable");
  } finally {
    session.close();
  }
}

/** The V8 CPU profile (Profiler.stop's result). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Samples the process's CPU for `ms` (interval `intervalUs`). */
export async function cpuProfile(url: string, ms: number, intervalUs = 1000): Promise<CpuProfile> {
  const session = await InspectorSession.connect(url);
  try {
    await session.call("Profiler.enable");
    await session.call("Profiler.setSamplingInterval", { interval: intervalUs });
    await session.call("Profiler.start");
    await new Promise((r) => setTimeout(r, ms));
    const { profile } = await session.call<{ profile: CpuProfile }>("Profiler.stop");
    await session.call("Profiler.disable");
    return profile;
  } finally {
    session.close();
  }
}
