/**
 * Text from a message as a NATS header value: headers are CRLF-delimited lines, so a CR or LF in a value is
 * refused by the client (it threw inside the ingest loop) — control characters become spaces, and the value
 * is cut to `max` characters.
 */
export function headerValue(text: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").slice(0, max);
}
