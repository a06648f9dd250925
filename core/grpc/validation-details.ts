/** Remote INVALID_ARGUMENT details ("field: problem; allowed: range") split back into parts. */
export function splitValidation(details: string): { field: string; problem: string; allowed: string } | null {
  const m = /^([^:]+): (.*); allowed: (.*)$/s.exec(details);
  return m ? { field: m[1] as string, problem: m[2] as string, allowed: m[3] as string } : null;
}
