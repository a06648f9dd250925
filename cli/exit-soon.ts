/**
 * Ends the process `graceMs` after a long-running command has closed everything it opened, should a handle
 * still hold the event loop: the NATS client keeps reconnecting to a server that went away even after close()
 * (observed: coordinator and workers alive 40 s after SIGTERM). The timer is unref'd, so a clean exit is never
 * delayed; the exit code stays the one the command set.
 */
export function exitSoon(name: string, graceMs = 2000): void {
  setTimeout(() => {
    process.stderr.write(`ttsnap ${name}: handles still open ${graceMs} ms after stopping; exiting\n`);
    process.exit();
  }, graceMs).unref();
}
