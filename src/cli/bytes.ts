// Byte sizes in words, one way everywhere the CLI shows them (ls, gc, verify, inspect): binary
// units, as sizes are written in pipeline files (512MiB, 16GiB).

export function bytesText(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}
