/** Hands `blob` to the browser as a download named `filename`. */
export function download(filename: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by the time the click returns; a moment's grace costs nothing.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A filename-safe local timestamp, e.g. 2026-11-28T04-37-17. */
export function fileTimestamp(date = new Date()): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19).replaceAll(':', '-');
}
