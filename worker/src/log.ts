/**
 * One JSON object per log line (Workers Logs and `wrangler tail` index them). Every line carries the
 * context known so far: repository, run, bucket and token id (null until known). Never a secret: callers
 * pass identifiers and sentences only, and the core's own log sentences name ids, not values.
 */
export interface LogContext {
  repository: string | null;
  run: string | null;
  bucket: string | null;
  token_id: string | null;
}

export class Logger {
  readonly context: LogContext = { repository: null, run: null, bucket: null, token_id: null };
  private readonly route: string;

  constructor(route: string) {
    this.route = route;
  }

  set(fields: Partial<LogContext>): void {
    Object.assign(this.context, fields);
  }

  line(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown> = {}): void {
    const entry = { level, event, route: this.route, ...this.context, ...fields };
    const text = JSON.stringify(entry);
    if (level === "error") console.error(text);
    else if (level === "warn") console.warn(text);
    else console.log(text);
  }

  info(event: string, fields?: Record<string, unknown>): void {
    this.line("info", event, fields);
  }

  warn(event: string, fields?: Record<string, unknown>): void {
    this.line("warn", event, fields);
  }

  error(event: string, fields?: Record<string, unknown>): void {
    this.line("error", event, fields);
  }
}
