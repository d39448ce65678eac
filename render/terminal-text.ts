/**
 * Text from the collector's API or from /proc made safe for a terminal. Pod, node and workload names, label
 * values, annotations and process names (/proc/<pid>/comm, which any local user sets) could otherwise move the
 * cursor, clear the screen, set the window title, or reorder what is shown (bidi overrides): every writer in
 * cli/ and local/ passes what it prints through here.
 */

/**
 * Characters a terminal acts on or does not show: controls (C0, DEL, C1), format characters (bidi embeddings,
 * overrides and isolates, zero-width spaces and joiners, soft hyphen, BOM, tag characters), the line and
 * paragraph separators, and lone surrogates (written as U+FFFD, hiding what was sent).
 */
const UNSHOWN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** In JSON.stringify output: the same minus C0, which JSON already escapes (and whose \n is the layout). */
const UNSHOWN_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

const NAMED: Readonly<Record<string, string>> = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, "0");

/** A visible, JavaScript-style escape: `\x1b`, `\u202e`, `\u{e0041}`. */
function visibleEscape(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const cp = char.codePointAt(0) as number;
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\u{${hex(cp, 1)}}`;
}

/**
 * `text` with every control or invisible format character replaced by a visible escape, so the user sees that
 * something is there and the terminal acts on nothing. Printable text is unchanged (backslashes included: a
 * name may spell `\x1b` literally; it is then as harmless as the escape). One line in, one line out.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSHOWN, visibleEscape);
}

/**
 * JSON.stringify for a terminal: it escapes C0 controls but leaves DEL, C1 (U+009B is a CSI on some
 * terminals), bidi overrides and the other format characters raw. They can only occur inside strings, so
 * writing them as \uXXXX keeps the JSON equal in value.
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSHOWN_IN_JSON, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${hex(char.charCodeAt(i), 4)}`).join(""),
  );
}
