// Model processes (workers, Slurm jobs) start with glibc's malloc asked to back its large blocks
// with transparent huge pages. onnxruntime allocates its activations (hundreds of MB for a few
// hundred tokens: attention scores, full-width logits) through malloc, and on a VM every first
// touch of a 4 KB page is a costly fault. Measured on the Pythia-160m shape, one scoring process
// over 16 dgl or lambada items: 125–147k page faults → 33–36k, 0.4–0.7 CPU s less, the same peak
// RSS. glibc before 2.35 ignores the tunable, and with THP set to "never" it changes nothing.

export const HUGEPAGE_MALLOC = 'glibc.malloc.hugetlb=1';

/** GLIBC_TUNABLES with the huge-page setting added, unless it already says something about it. */
export function withHugePageMalloc(current: string | undefined): string {
  if (current && /(^|:)glibc\.malloc\.hugetlb=/.test(current)) return current;
  return current ? `${current}:${HUGEPAGE_MALLOC}` : HUGEPAGE_MALLOC;
}

/** The same, as a bash line for a batch script (the job's environment is the submitter's). */
export const HUGEPAGE_MALLOC_SHELL =
  `case ":\${GLIBC_TUNABLES-}:" in *:glibc.malloc.hugetlb=*) ;; *) export GLIBC_TUNABLES="\${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}${HUGEPAGE_MALLOC}" ;; esac`;
