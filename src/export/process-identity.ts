import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * What tells this process from an earlier one with the same pid (a container
 * restarted, its app PID 1 again), the same in every thread of the process:
 * on Linux the boot id and the process's start time in clock ticks since
 * boot; elsewhere its start time in seconds, from the wall clock and the
 * uptime (`sameProcess` allows for the rounding). Never contains ':'.
 */
export function processIdentity(): string {
  cached ??= linuxIdentity('self') ?? `s${Math.round(Date.now() / 1000 - process.uptime())}`;
  return cached;
}

/**
 * The identity of another live process, as `processIdentity()` gives it in
 * that process; undefined where it cannot be read (not Linux, no /proc).
 */
export function identityOf(pid: number): string | undefined {
  return linuxIdentity(String(pid));
}

/** Whether two identities name the same process (the pid being equal). */
export function sameProcess(a: string, b: string): boolean {
  if (a.startsWith('s') && b.startsWith('s')) return Math.abs(Number(a.slice(1)) - Number(b.slice(1))) <= 2;
  return a === b;
}

function linuxIdentity(pid: string): string | undefined {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which may hold spaces and parentheses: state is field 3, starttime field 22
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
    if (!/^[0-9a-f-]+$/.test(bootId) || !/^\d+$/.test(startTicks ?? '')) return undefined;
    return `linux-${bootId}-${startTicks}`;
  } catch {
    return undefined;
  }
}
