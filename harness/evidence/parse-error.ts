/**
 * Thrown by every parser on input it cannot fully account for. Parsers never return a silent
 * partial result: an unknown or truncated line is an error naming the parser, the line number
 * and the offending text.
 */
export class ParseError extends Error {
  readonly parser: string;
  readonly line: number | undefined;
  readonly text: string;
  /** what is wrong, without parser, line and text */
  readonly detail: string;
  constructor(parser: string, line: number | undefined, text: string, detail: string) {
    super(`${parser}: ${detail}${line !== undefined ? ` at line ${line}` : ""}: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = "ParseError";
    this.parser = parser;
    this.line = line;
    this.text = text;
    this.detail = detail;
  }
}
