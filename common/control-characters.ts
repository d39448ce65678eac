/**
 * Text from a node (names, labels, error details) bound for a line-based protocol or a receiver that shows it
 * (NATS headers, alert labels): C0 and C1 control characters become spaces, so none can end a header line,
 * forge another, or drive a terminal further on.
 */
export function withoutControlCharacters(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}
