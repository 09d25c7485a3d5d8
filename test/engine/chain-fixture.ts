// The pipeline the crash-safety (robustness) and damage tests share: one → two, each stage logging
// its call to calls.log, then either a third stage or a fan-out of four.
const HEAD = `stages:
  one:
    run: echo one >> calls.log && echo 1 > one.txt
    outs: [one.txt]
  two:
    run: echo two >> calls.log && cat one.txt one.txt > two.txt
    deps: [one.txt]
    outs: [two.txt]
`;

/** one → two → three. */
export const CHAIN = `${HEAD}  three:
    run: echo three >> calls.log && wc -c < two.txt > three.txt
    deps: [two.txt]
    outs: [three.txt]
`;

/** one → two → many/1…4 (a matrix reading two.txt). */
export const CHAIN_FANOUT = `${HEAD}  many:
    matrix: { n: [1, 2, 3, 4] }
    run: echo many-\${n} >> calls.log && mkdir -p many && seq 1 \${n} > many/\${n}.txt
    deps: [two.txt]
    outs: ["many/\${n}.txt"]
`;
