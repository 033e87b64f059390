// One time convention for every page, as the CLI prints: UTC, with the zone shown.

export function formatUtc(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * As `lineageql runs list` prints it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`;
 * `running` while a RUNNING run or step has no end, `-` when there is nothing to measure.
 */
export function formatDuration(
  start: string | null | undefined,
  end: string | null | undefined,
  status?: string | null,
): string {
  if (!start || !end) return start && (status ?? "RUNNING") === "RUNNING" ? "running" : "-";
  const ms = Math.max(new Date(end).getTime() - new Date(start).getTime(), 0);
  if (!Number.isFinite(ms)) return "-";
  const seconds = ms / 1000;
  if (seconds < 1) return `${Math.round(ms)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
