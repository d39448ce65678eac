/**
 * A private CA made with openssl in a temp dir, and certificates it signs: what a cluster's own PKI hands a
 * server (names in subjectAltName) or a client (extendedKeyUsage=clientAuth). P-256 keys, no passphrase, 1 day.
 */
import { type ExecFileSyncOptions, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
/** openssl's progress lines are noise in a test run; its errors still fail the call (with its stderr). */
const QUIET: ExecFileSyncOptions = { stdio: "pipe" };

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

export interface PrivateCa {
  dir: string;
  /** The CA certificate (PEM): what a peer trusts. */
  caFile: string;
  /** A certificate for CN=`name` with the extension `ext` (e.g. "subjectAltName=IP:127.0.0.1"). */
  issue(name: string, ext: string): IssuedCertificate;
  destroy(): void;
}

export function createPrivateCa(subject = "tcpstate test CA"): PrivateCa {
  const dir = mkdtempSync(path.join(tmpdir(), "tcpstate-ca-"));
  const file = (name: string) => path.join(dir, name);
  const caFile = file("ca.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", ...NEW_KEY, "-keyout", file("ca-key.pem"), "-out", caFile],
      ...["-days", "1", "-subj", `/CN=${subject}`],
    ],
    QUIET,
  );
  return {
    dir,
    caFile,
    issue(name, ext) {
      const certFile = file(`${name}.pem`);
      const keyFile = file(`${name}-key.pem`);
      execFileSync(
        "openssl",
        [...["req", ...NEW_KEY, "-keyout", keyFile, "-out", file(`${name}.csr`), "-subj", `/CN=${name}`]],
        QUIET,
      );
      writeFileSync(file(`${name}.ext`), `${ext}\n`);
      execFileSync(
        "openssl",
        [
          ...["x509", "-req", "-in", file(`${name}.csr`), "-days", "1", "-out", certFile],
          ...[
            "-CA",
            caFile,
            "-CAkey",
            file("ca-key.pem"),
            "-CAcreateserial",
            "-extfile",
            file(`${name}.ext`),
          ],
        ],
        QUIET,
      );
      return { certFile, keyFile };
    },
    destroy() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
