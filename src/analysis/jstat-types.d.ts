// Minimal types for the parts of jstat the analysis uses (the package ships none).
declare module 'jstat' {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
  }
  const jstat: {
    jStat: {
      studentt: Distribution;
      normal: Distribution;
    };
  };
  export default jstat;
}
